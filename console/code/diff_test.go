package code

import (
	"strings"
	"testing"
)

func render(d []Line) string {
	var b strings.Builder
	for _, l := range d {
		b.WriteByte(byte(l.Op))
		b.WriteString(l.Text)
		b.WriteByte('|')
	}
	return b.String()
}

func TestDiff(t *testing.T) {
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"equal", "a\nb\n", "a\nb\n", " a| b|"},
		{"both empty", "", "", ""},
		{"from nothing", "", "a\nb", "+a|+b|"},
		{"to nothing", "a\nb\n", "", "-a|-b|"},
		{"one line changed in the middle", "a\nb\nc\n", "a\nB\nc\n", " a|-b|+B| c|"},
		{"line inserted", "a\nc", "a\nb\nc", " a|+b| c|"},
		{"line removed", "a\nb\nc", "a\nc", " a|-b| c|"},
		{"trailing newline does not count as a line", "a\n", "a", " a|"},
		{"moved line keeps the longest common part", "x\na\nb\nc", "a\nb\nc\nx", "-x| a| b| c|+x|"},
		{"blank lines are lines", "a\n\nb", "a\nb", " a|-| b|"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := render(Diff(tc.old, tc.new)); got != tc.want {
				t.Errorf("Diff(%q, %q) = %q, want %q", tc.old, tc.new, got, tc.want)
			}
		})
	}
}

func TestDiffOfHugeRewritesStaysTrue(t *testing.T) {
	old := strings.Repeat("old line\n", 3000)
	new := strings.Repeat("new line\n", 3000)
	d := Diff("head\n"+old+"tail\n", "head\n"+new+"tail\n")
	if r, a := Changed(d); r != 3000 || a != 3000 {
		t.Fatalf("changed = -%d +%d, want -3000 +3000", r, a)
	}
	if d[0] != (Line{Same, "head"}) || d[len(d)-1] != (Line{Same, "tail"}) {
		t.Errorf("common prefix/suffix lost: %v ... %v", d[0], d[len(d)-1])
	}
}

func FuzzDiff(f *testing.F) {
	f.Add("a\nb\nc", "a\nc\nd")
	f.Fuzz(func(t *testing.T, old, new string) {
		d := Diff(old, new)
		var o, n []string
		for _, l := range d {
			if l.Op != Added {
				o = append(o, l.Text)
			}
			if l.Op != Removed {
				n = append(n, l.Text)
			}
		}
		if got, want := strings.Join(o, "\n"), strings.Join(splitLines(old), "\n"); got != want {
			t.Fatalf("old side %q, want %q", got, want)
		}
		if got, want := strings.Join(n, "\n"), strings.Join(splitLines(new), "\n"); got != want {
			t.Fatalf("new side %q, want %q", got, want)
		}
	})
}
