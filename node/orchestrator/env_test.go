package orchestrator

import (
	"strings"
	"testing"

	"github.com/picloud/picloud/node/store"
	"github.com/picloud/picloud/shared"
)

// A run's logged output and error never hold an app's secret: not as it
// is, not as JSON writes it, not cut in half where the output was cut
// off.
func TestRedactSecrets(t *testing.T) {
	a := &appState{redactor: newRedactor([]store.EnvValue{
		{AppID: 1, Name: "TOKEN", Value: "tok-123456", Secret: true},
		{AppID: 1, Name: "LONG", Value: "tok-123456-and-more", Secret: true},
		{AppID: 1, Name: "QUOTED", Value: "a\"b\\c\nd\te", Secret: true},
		{AppID: 1, Name: "ODD", Value: "x\by\u2028z\x01<&>", Secret: true},
		{AppID: 1, Name: "EMPTY", Value: "", Secret: true},
		{AppID: 1, Name: "PLAIN", Value: "visible", Secret: false},
	})}
	for _, tc := range []struct{ name, output, error, wantOut, wantErr string }{
		{"as is", "token is tok-123456\n", "Error: bad tok-123456", "token is [secret TOKEN]\n", "Error: bad [secret TOKEN]"},
		{"the longer secret wins", "tok-123456-and-more\n", "", "[secret LONG]\n", ""},
		{"as JSON writes it", `{"q":"a\"b\\c\nd\te"}` + "\n", "", `{"q":"[secret QUOTED]"}` + "\n", ""},
		{"as JavaScript's JSON.stringify writes it", `{"q":"x\by` + "\u2028" + `z\u0001<&>"}` + "\n", "", `{"q":"[secret ODD]"}` + "\n", ""},
		{"as Go's encoding/json writes it", `{"q":"x\by\u2028z\u0001<&>"}` + "\n", "", `{"q":"[secret ODD]"}` + "\n", ""},
		{"raw with control characters", "a\"b\\c\nd\te\n", "", "[secret QUOTED]\n", ""},
		{"plain variables stay", "visible\n", "", "visible\n", ""},
		{"cut off in a secret", strings.Repeat("x", 10) + "a\"b\\c\n…(output truncated)\n", "", strings.Repeat("x", 10) + "[secret QUOTED]…(output truncated)\n", ""},
		{"an uncut end is left alone", "ends in tok-\n", "", "ends in tok-\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := shared.Log{Output: tc.output, Error: tc.error}
			a.redact(&e)
			if e.Output != tc.wantOut || e.Error != tc.wantErr {
				t.Errorf("output %q error %q\nwant   %q error %q", e.Output, e.Error, tc.wantOut, tc.wantErr)
			}
		})
	}
	none := &appState{redactor: newRedactor([]store.EnvValue{{Name: "PLAIN", Value: "x"}})}
	if none.redactor != nil {
		t.Error("an app without secrets has a redactor")
	}
}
