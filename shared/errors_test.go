package shared

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
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
		{CodeNoQuorum, 503},
		{CodeInvalidJoinToken, 403}, {CodeNodeNotEmpty, 409}, {CodeJoinFailed, 502},
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

// A code declared anywhere in the package without a line in the status
// table would answer 500 without anyone deciding so.
func TestEveryCodeHasAStatus(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, id := range vs.Names {
				if !strings.HasPrefix(id.Name, "Code") || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				code, _ := strconv.Unquote(lit.Value)
				seen++
				if _, ok := statuses[code]; !ok {
					t.Errorf("%s (%s, %s) has no status in the table", id.Name, code, name)
				}
			}
			return true
		})
	}
	if seen < len(statuses) {
		t.Errorf("found %d codes, fewer than the table's %d", seen, len(statuses))
	}
}
