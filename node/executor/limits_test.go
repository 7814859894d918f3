package executor

import (
	"testing"

	"github.com/picloud/picloud/shared"
)

// Every unset knob takes its default, whichever it is; set knobs are kept.
func TestFillLimitsFillsEachKnob(t *testing.T) {
	d := shared.DefaultLimits()
	for _, k := range shared.Knobs {
		l := shared.DefaultLimits().Apply(shared.Overrides{shared.KnobTimeoutMS: 7})
		l = l.Apply(shared.Overrides{k: 0})
		if l.Get(k) != 0 {
			t.Fatalf("could not unset %s", k)
		}
		if k != shared.KnobTimeoutMS {
			if got := fillLimits(l); got.Get(k) != d.Get(k) || got.TimeoutMS != 7 {
				t.Errorf("%s unset: got %+v", k, got)
			}
			continue
		}
		if got := fillLimits(l); got.TimeoutMS != d.TimeoutMS {
			t.Errorf("%s unset: got %+v", k, got)
		}
	}
}
