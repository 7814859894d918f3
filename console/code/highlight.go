package code

// Kind is what a span of JavaScript source is, for colouring.
type Kind byte

const (
	Plain Kind = iota
	Keyword
	String // '…', "…" and `…` (a template literal is one span)
	Comment
	Number
)

// Span is a run of source of one kind; spans cover the source in order.
type Span struct {
	Kind Kind
	Text string
}

// keywords are JavaScript's reserved words and the literals people read
// as such (true, null, undefined).
var keywords = map[string]bool{
	"async": true, "await": true, "break": true, "case": true, "catch": true, "class": true, "const": true,
	"continue": true, "debugger": true, "default": true, "delete": true, "do": true, "else": true, "export": true,
	"extends": true, "false": true, "finally": true, "for": true, "function": true, "if": true, "import": true,
	"in": true, "instanceof": true, "let": true, "new": true, "null": true, "of": true, "return": true,
	"static": true, "super": true, "switch": true, "this": true, "throw": true, "true": true, "try": true,
	"typeof": true, "undefined": true, "var": true, "void": true, "while": true, "with": true, "yield": true,
}

// Highlight splits JavaScript source into spans. It is a lexer for colour
// only: it never fails, and an unterminated string or comment runs to its
// line's end (strings) or the source's end (block comments, templates),
// as an editor shows them while they are being typed. Regular expression
// literals are plain text.
func Highlight(src string) []Span {
	var out []Span
	emit := func(k Kind, text string) {
		if text == "" {
			return
		}
		if n := len(out); n > 0 && out[n-1].Kind == k {
			out[n-1].Text += text
			return
		}
		out = append(out, Span{k, text})
	}
	for i := 0; i < len(src); {
		c := src[i]
		j := i + 1
		kind := Plain
		switch {
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			j = indexFrom(src, i, "\n", len(src))
			kind = Comment
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			j = indexFrom(src, i+2, "*/", len(src)-2) + 2
			kind = Comment
		case c == '"' || c == '\'':
			j = endOfString(src, i)
			kind = String
		case c == '`':
			j = endOfTemplate(src, i)
			kind = String
		case isDigit(c) || (c == '.' && i+1 < len(src) && isDigit(src[i+1])):
			j = endOfNumber(src, i)
			kind = Number
		case isIdentStart(c):
			for j < len(src) && isIdentPart(src[j]) {
				j++
			}
			if keywords[src[i:j]] && (i == 0 || src[i-1] != '.') { // obj.default is a property
				kind = Keyword
			}
		}
		emit(kind, src[i:j])
		i = j
	}
	return out
}

// indexFrom is the index of sep in src at or after from, or def.
func indexFrom(src string, from int, sep string, def int) int {
	for k := from; k+len(sep) <= len(src); k++ {
		if src[k:k+len(sep)] == sep {
			return k
		}
	}
	return def
}

// endOfString is past the closing quote of the string at i, or the end of
// its line when it is not closed.
func endOfString(src string, i int) int {
	q := src[i]
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case '\\':
			j++
		case '\n':
			return j
		case q:
			return j + 1
		}
	}
	return len(src)
}

func endOfTemplate(src string, i int) int {
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case '\\':
			j++
		case '`':
			return j + 1
		}
	}
	return len(src)
}

// endOfNumber takes 12, 1.5e-3, 0xff, 1_000 and 10n.
func endOfNumber(src string, i int) int {
	j := i
	for j < len(src) {
		c := src[j]
		switch {
		case isDigit(c) || c == '.' || c == '_' || isIdentPart(c) && c != '$':
			j++
		case (c == '+' || c == '-') && (src[j-1] == 'e' || src[j-1] == 'E') && !isHex(src[i:j]):
			j++
		default:
			return j
		}
	}
	return j
}

func isHex(s string) bool { return len(s) > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdentStart(c byte) bool {
	return c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isIdentPart(c byte) bool { return isIdentStart(c) || isDigit(c) }
