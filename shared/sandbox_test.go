package shared

import (
	"net/http"
	"testing"
)

func TestValidateOverrides(t *testing.T) {
	ceiling := BuiltinCeiling()
	tests := []struct {
		name      string
		in        Overrides
		code      string
		field     string
		requested int64
	}{
		{name: "none", in: Overrides{}},
		{name: "every knob at its ceiling", in: Overrides{
			KnobMaxOperations: 10_000_000, KnobMaxStringSize: 1 << 20, KnobMaxArraySize: 100_000,
			KnobMaxMapSize: 100_000, KnobMaxCallLevels: 128, KnobMaxExprDepth: 128, KnobTimeoutMS: 30_000}},
		{name: "one", in: Overrides{KnobMaxOperations: 1}},
		{name: "unknown knob", in: Overrides{"max_cpu": 1}, code: CodeUnknownField, field: "sandbox.max_cpu"},
		{name: "zero", in: Overrides{KnobMaxArraySize: 0}, code: CodeValidationFailed, field: "sandbox.max_array_size"},
		{name: "negative", in: Overrides{KnobTimeoutMS: -5}, code: CodeValidationFailed, field: "sandbox.timeout_ms"},
		{name: "timeout above ceiling", in: Overrides{KnobTimeoutMS: 30_001}, code: CodeSandboxExceedsCeiling, field: "sandbox.timeout_ms", requested: 30_001},
		{name: "operations above ceiling", in: Overrides{KnobMaxOperations: 10_000_001}, code: CodeSandboxExceedsCeiling, field: "sandbox.max_operations", requested: 10_000_001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateOverrides(tt.in, ceiling)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			e, ok := AsError(err)
			if !ok {
				t.Fatalf("err = %v, want *Error %s", err, tt.code)
			}
			if e.Code != tt.code || e.Status != http.StatusUnprocessableEntity || e.Detail("field") != tt.field {
				t.Errorf("got %d %s field=%q, want 422 %s field=%q", e.Status, e.Code, e.Detail("field"), tt.code, tt.field)
			}
			if tt.requested != 0 {
				if e.Details["requested"] != tt.requested || e.Details["ceiling"] != ceiling.Get(tt.in.keys()[0]) {
					t.Errorf("details = %v", e.Details)
				}
			}
		})
	}
}

func (o Overrides) keys() []string {
	var ks []string
	for k := range o {
		ks = append(ks, k)
	}
	return ks
}

func TestLimitsApplyAndMin(t *testing.T) {
	l := DefaultLimits().Apply(Overrides{KnobMaxOperations: 500, KnobTimeoutMS: 100})
	if l.MaxOperations != 500 || l.TimeoutMS != 100 || l.MaxArraySize != 100_000 {
		t.Errorf("Apply = %+v", l)
	}
	lowered := BuiltinCeiling()
	lowered.MaxCallLevels = 10
	if got := DefaultLimits().Min(lowered); got.MaxCallLevels != 10 || got.TimeoutMS != 5_000 {
		t.Errorf("defaults under a lowered ceiling = %+v", got)
	}
}

func TestCeilingEnv(t *testing.T) {
	want := map[string]string{
		KnobMaxOperations: "PICLOUD_SANDBOX_MAX_OPERATIONS",
		KnobMaxStringSize: "PICLOUD_SANDBOX_MAX_STRING_SIZE",
		KnobMaxExprDepth:  "PICLOUD_SANDBOX_MAX_EXPR_DEPTH",
		KnobTimeoutMS:     "PICLOUD_SANDBOX_MAX_TIMEOUT_MS",
	}
	for knob, env := range want {
		if got := CeilingEnv(knob); got != env {
			t.Errorf("CeilingEnv(%s) = %s, want %s", knob, got, env)
		}
	}
	c, warnings := CeilingFromEnv(func(k string) string {
		return map[string]string{"PICLOUD_SANDBOX_MAX_OPERATIONS": "1000", "PICLOUD_SANDBOX_MAX_CALL_LEVELS": "x"}[k]
	})
	if c.MaxOperations != 1000 || c.MaxCallLevels != 128 || len(warnings) != 1 {
		t.Errorf("CeilingFromEnv = %+v, %q", c, warnings)
	}
}
