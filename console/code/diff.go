// Package code holds the script editor's logic that needs no widget: the
// line difference shown before overwriting a script changed elsewhere, and
// the JavaScript highlighting. console/ui draws what it computes.
package code

import "strings"

// Op says what a diff line is.
type Op byte

const (
	Same    Op = ' '
	Removed Op = '-' // only in the old text
	Added   Op = '+' // only in the new text
)

// Line is one line of a difference.
type Line struct {
	Op   Op
	Text string
}

// maxCells bounds the longest-common-subsequence table: past it (two
// thousand-line rewrites), the changed middle is shown as removed then
// added, which is still a true difference.
const maxCells = 4 << 20

// Diff returns the lines that turn old into new: the common prefix and
// suffix as they are, and the middle by longest common subsequence.
func Diff(old, new string) []Line {
	a, b := splitLines(old), splitLines(new)
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	out := make([]Line, 0, len(a)+len(b)-pre-suf)
	for _, l := range a[:pre] {
		out = append(out, Line{Same, l})
	}
	out = append(out, middle(a[pre:len(a)-suf], b[pre:len(b)-suf])...)
	for _, l := range a[len(a)-suf:] {
		out = append(out, Line{Same, l})
	}
	return out
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

func middle(a, b []string) []Line {
	var out []Line
	if len(a)*len(b) > maxCells {
		for _, l := range a {
			out = append(out, Line{Removed, l})
		}
		for _, l := range b {
			out = append(out, Line{Added, l})
		}
		return out
	}
	// lcs[i][j] is the LCS length of a[i:] and b[j:].
	w := len(b) + 1
	lcs := make([]int32, (len(a)+1)*w)
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i*w+j] = lcs[(i+1)*w+j+1] + 1
			} else {
				lcs[i*w+j] = max(lcs[(i+1)*w+j], lcs[i*w+j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			out = append(out, Line{Same, a[i]})
			i, j = i+1, j+1
		case lcs[(i+1)*w+j] >= lcs[i*w+j+1]:
			out = append(out, Line{Removed, a[i]})
			i++
		default:
			out = append(out, Line{Added, b[j]})
			j++
		}
	}
	for ; i < len(a); i++ {
		out = append(out, Line{Removed, a[i]})
	}
	for ; j < len(b); j++ {
		out = append(out, Line{Added, b[j]})
	}
	return out
}

// Changed reports how many lines a difference removes and adds.
func Changed(d []Line) (removed, added int) {
	for _, l := range d {
		switch l.Op {
		case Removed:
			removed++
		case Added:
			added++
		}
	}
	return removed, added
}
