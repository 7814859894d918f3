package executor

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// t262Meta is the part of a test262 test's YAML front matter the runner
// reads (INTERPRETING.md): the harness files to include, the flags, the
// features, and the expected error of a negative test.
type t262Meta struct {
	Includes, Flags, Features []string
	NegativePhase             string // parse, resolution or runtime
	NegativeType              string // the error constructor's name
	Es5id                     string
}

func (m *t262Meta) hasFlag(f string) bool {
	for _, x := range m.Flags {
		if x == f {
			return true
		}
	}
	return false
}

var errNoFrontMatter = errors.New("no /*--- ---*/ front matter")

// parseT262Meta reads the front matter of a test's source. The subset of
// YAML test262 uses is small: scalars, flow lists ([a, b]) and block lists
// (- a), and the two-level negative: map.
func parseT262Meta(src string) (*t262Meta, error) {
	start := strings.Index(src, "/*---")
	end := strings.Index(src, "---*/")
	if start < 0 || end < start {
		return nil, errNoFrontMatter
	}
	m := &t262Meta{}
	var list *[]string // the block list being read
	inNegative := false
	for _, line := range strings.Split(src[start+5:end], "\n") {
		trimmed := strings.TrimSpace(line)
		indented := len(line) > 0 && (line[0] == ' ' || line[0] == '\t')
		if !indented {
			list, inNegative = nil, false
		}
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if strings.HasPrefix(trimmed, "- ") && list != nil {
			*list = append(*list, yamlScalar(trimmed[2:]))
			continue
		}
		key, value, ok := strings.Cut(trimmed, ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		if inNegative && indented {
			switch key {
			case "phase":
				m.NegativePhase = yamlScalar(value)
			case "type":
				m.NegativeType = yamlScalar(value)
			}
			continue
		}
		if indented {
			continue // the text of description: or info:
		}
		switch key {
		case "includes":
			list = &m.Includes
		case "flags":
			list = &m.Flags
		case "features":
			list = &m.Features
		case "negative":
			inNegative = true
			continue
		case "es5id":
			m.Es5id = yamlScalar(value)
			continue
		default:
			continue
		}
		if strings.HasPrefix(value, "[") {
			inner := strings.TrimSuffix(strings.TrimPrefix(value, "["), "]")
			for _, item := range strings.Split(inner, ",") {
				if item = yamlScalar(item); item != "" {
					*list = append(*list, item)
				}
			}
			list = nil
		}
	}
	return m, nil
}

func yamlScalar(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, " #"); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	return strings.Trim(s, `"'`)
}

// t262Skips are the tests goja's own runner does not run
// (testdata/test262/goja-skips.txt), skipped here the same way.
type t262Skips struct {
	files    map[string]bool
	prefixes []string
	features map[string]bool
}

func loadT262Skips(path string) (*t262Skips, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s := &t262Skips{files: map[string]bool{}, features: map[string]bool{}}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		kind, value, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		switch kind {
		case "file":
			s.files[value] = true
		case "prefix":
			s.prefixes = append(s.prefixes, value)
		case "feature":
			s.features[value] = true
		}
	}
	return s, sc.Err()
}

// skip tells why goja's runner would not run the test name (a path from
// the suite's root, test/...), or "".
func (s *t262Skips) skip(name string, m *t262Meta) string {
	if s.files[filepath.ToSlash(name)] {
		return "excluded by goja"
	}
	for _, p := range s.prefixes {
		if strings.HasPrefix(name, p) {
			return "excluded by goja"
		}
	}
	if m.hasFlag("module") {
		return "module"
	}
	if m.Es5id == "" {
		for _, f := range m.Features {
			if s.features[f] {
				return "feature " + f + " not in goja"
			}
		}
	}
	return ""
}
