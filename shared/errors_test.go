package shared

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
)

func TestErrorEnvelopeRoundTrip(t *testing.T) {
	in := Errorf(http.StatusConflict, CodeDomainClaimed, "api.example.com is claimed by shop").With("held_by", "shop")
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	if raw["error"]["code"] != CodeDomainClaimed || raw["error"]["held_by"] != "shop" || raw["error"]["message"] == "" {
		t.Errorf("envelope = %s", b)
	}
	var out Error
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.Code != in.Code || out.Message != in.Message || out.Detail("held_by") != "shop" {
		t.Errorf("round trip = %+v", out)
	}
	wrapped := fmt.Errorf("claim: %w", in)
	if !IsCode(wrapped, CodeDomainClaimed) {
		t.Error("IsCode does not see through wrapping")
	}
}
