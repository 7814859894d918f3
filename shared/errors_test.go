package shared

import (
	"encoding/json"
	"fmt"
	"testing"
)

func TestErrorEnvelopeRoundTrip(t *testing.T) {
	in := Errorf(CodeDomainClaimed, "api.example.com is claimed by shop").With("held_by", "shop")
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

// Each code answers with the status SPEC §3 and §4 give it, whoever builds
// the error.
func TestStatusOfEveryCode(t *testing.T) {
	for _, tc := range []struct {
		code   string
		status int
	}{
		{CodeBadJSON, 400}, {CodeBadRequest, 400},
		{CodeUnauthorized, 401},
		{CodeNotFound, 404}, {CodeUnknownHost, 404}, {CodeNoRoute, 404},
		{CodeMethodNotAllowed, 405},
		{CodeSlugTaken, 409}, {CodeSlugReserved, 409}, {CodeDomainClaimed, 409}, {CodeDomainInUse, 409},
		{CodeScriptNameTaken, 409}, {CodeRouteConflict, 409}, {CodeDefaultApp, 409}, {CodeKVQuotaExceeded, 409},
		{CodeTooLarge, 413},
		{CodeValidationFailed, 422}, {CodeUnknownField, 422}, {CodeSandboxExceedsCeiling, 422},
		{CodeInvalidDomain, 422}, {CodeInvalidSlug, 422}, {CodeInvalidRoute, 422},
		{CodeHostNotClaimed, 422}, {CodeScriptSyntax, 422}, {CodeInvalidSchedule, 422},
		{CodeScriptError, 500}, {CodeInternal, 500},
		{CodeSandboxLimit, 507},
		{"no_such_code", 500},
	} {
		t.Run(tc.code, func(t *testing.T) {
			if got := Errorf(tc.code, "x").Status; got != tc.status {
				t.Errorf("Errorf(%s).Status = %d, want %d", tc.code, got, tc.status)
			}
		})
	}
	if got := Errorf(CodeInternal, "starting").WithStatus(503); got.Status != 503 || got.Code != CodeInternal {
		t.Errorf("WithStatus = %d %s, want 503 internal", got.Status, got.Code)
	}
}
