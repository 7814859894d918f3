package shared

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Sandbox knobs (SPEC §5). The order is the order forms show them in.
const (
	KnobMaxOperations = "max_operations"
	KnobMaxStringSize = "max_string_size"
	KnobMaxArraySize  = "max_array_size"
	KnobMaxMapSize    = "max_map_size"
	KnobMaxCallLevels = "max_call_levels"
	KnobMaxExprDepth  = "max_expr_depth"
	KnobTimeoutMS     = "timeout_ms"
)

// Knobs lists every knob in display order.
var Knobs = []string{
	KnobMaxOperations, KnobMaxStringSize, KnobMaxArraySize, KnobMaxMapSize,
	KnobMaxCallLevels, KnobMaxExprDepth, KnobTimeoutMS,
}

// Limits is a complete set of knob values: the defaults, the ceiling, or a
// script's effective sandbox.
type Limits struct {
	MaxOperations int64 `json:"max_operations"`
	MaxStringSize int64 `json:"max_string_size"`
	MaxArraySize  int64 `json:"max_array_size"`
	MaxMapSize    int64 `json:"max_map_size"`
	MaxCallLevels int64 `json:"max_call_levels"`
	MaxExprDepth  int64 `json:"max_expr_depth"`
	TimeoutMS     int64 `json:"timeout_ms"`
}

// Overrides are a script's stored knob values, keyed by knob name; absent
// knobs take the default. Stored as a JSON object, `{}` when empty.
type Overrides map[string]int64

// DefaultLimits are the built-in defaults of SPEC §5.
func DefaultLimits() Limits {
	return Limits{
		MaxOperations: 10_000_000,
		MaxStringSize: 1 << 20,
		MaxArraySize:  100_000,
		MaxMapSize:    100_000,
		MaxCallLevels: 128,
		MaxExprDepth:  128,
		TimeoutMS:     5_000,
	}
}

// BuiltinCeiling is the ceiling when no PICLOUD_SANDBOX_MAX_* is set.
func BuiltinCeiling() Limits {
	c := DefaultLimits()
	c.TimeoutMS = 30_000
	return c
}

// field returns a pointer to the value of knob, or nil for an unknown knob.
func (l *Limits) field(knob string) *int64 {
	switch knob {
	case KnobMaxOperations:
		return &l.MaxOperations
	case KnobMaxStringSize:
		return &l.MaxStringSize
	case KnobMaxArraySize:
		return &l.MaxArraySize
	case KnobMaxMapSize:
		return &l.MaxMapSize
	case KnobMaxCallLevels:
		return &l.MaxCallLevels
	case KnobMaxExprDepth:
		return &l.MaxExprDepth
	case KnobTimeoutMS:
		return &l.TimeoutMS
	}
	return nil
}

// Get returns the value of knob (0 for an unknown knob).
func (l Limits) Get(knob string) int64 {
	if p := l.field(knob); p != nil {
		return *p
	}
	return 0
}

// Apply returns l with the overrides set. Unknown knobs are ignored: the
// manager rejects them at write time, so stored overrides hold none.
func (l Limits) Apply(o Overrides) Limits {
	for k, v := range o {
		if p := l.field(k); p != nil {
			*p = v
		}
	}
	return l
}

// Min returns, knob by knob, the smaller of l and c; defaults are capped by
// a ceiling that an operator lowered below them.
func (l Limits) Min(c Limits) Limits {
	for _, k := range Knobs {
		if p, q := l.field(k), c.field(k); *q < *p {
			*p = *q
		}
	}
	return l
}

// CeilingEnv is the environment variable that sets knob's ceiling, e.g.
// PICLOUD_SANDBOX_MAX_OPERATIONS for max_operations and
// PICLOUD_SANDBOX_MAX_TIMEOUT_MS for timeout_ms.
func CeilingEnv(knob string) string {
	name := strings.ToUpper(strings.TrimPrefix(knob, "max_"))
	return "PICLOUD_SANDBOX_MAX_" + name
}

// CeilingFromEnv reads the per-knob ceilings. Invalid values do not stop the
// node (SPEC §1): each is skipped and reported in warnings.
func CeilingFromEnv(getenv func(string) string) (ceiling Limits, warnings []string) {
	ceiling = BuiltinCeiling()
	for _, k := range Knobs {
		env := CeilingEnv(k)
		raw := strings.TrimSpace(getenv(env))
		if raw == "" {
			continue
		}
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < 1 {
			warnings = append(warnings, fmt.Sprintf("%s=%q is not an integer >= 1; using %d", env, raw, ceiling.Get(k)))
			continue
		}
		*ceiling.field(k) = n
	}
	return ceiling, warnings
}

// ValidateOverrides checks a script's overrides against the ceiling: unknown
// knobs are 422 unknown_field, values below 1 are 422 validation_failed and
// values above the ceiling are 422 sandbox_exceeds_ceiling. Fields are named
// "sandbox.<knob>" so a form can show the error beside its input.
func ValidateOverrides(o Overrides, ceiling Limits) error {
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic: the first bad knob in name order
	for _, k := range keys {
		v := o[k]
		field := "sandbox." + k
		p := ceiling.field(k)
		switch {
		case p == nil:
			return UnknownField(field)
		case v < 1:
			return Validation(field, "%s must be an integer of at least 1, got %d", k, v)
		case v > *p:
			return Errorf(CodeSandboxExceedsCeiling,
				"%s of %d exceeds this node's ceiling of %d", k, v, *p).
				With("field", field).With("requested", v).With("ceiling", *p)
		}
	}
	return nil
}

// EffectiveLimits are the limits a script runs with: the defaults with its
// overrides applied, capped by the ceiling. The cap matters when an operator
// lowers a PICLOUD_SANDBOX_MAX_* below overrides stored earlier: the node
// then runs the script at the new ceiling rather than above it.
func EffectiveLimits(defaults, ceiling Limits, o Overrides) Limits {
	return defaults.Apply(o).Min(ceiling)
}
