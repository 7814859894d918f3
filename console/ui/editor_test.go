package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

func gutterText(c *codeEditor) string {
	var b strings.Builder
	for _, s := range c.gutter.Segments {
		b.WriteString(s.(*widget.TextSegment).Text + "\n")
	}
	return b.String()
}

func TestEditorGutterNumbersLinesAndMarksTheErrorLine(t *testing.T) {
	h := paired(t)
	h.createApp("Syn", "syn")
	sc := h.createScript("syn", "broken", "function handle(req) { return 'ok' }")
	v := h.openApp("syn")
	d := h.openScript(v, sc.ID)

	d.editor.SetText("function handle(req) {\n  var x = 1;\n  return x +;\n}\n")
	if g := gutterText(d.code); !strings.Contains(g, " 5") || strings.Contains(g, "6") {
		t.Errorf("gutter for 5 lines = %q", g)
	}
	test.Tap(h.button("Save"))
	h.wait()
	if d.code.Marked() != 3 || !strings.Contains(gutterText(d.code), "•3") {
		t.Errorf("marked line %d, gutter %q; want line 3 marked", d.code.Marked(), gutterText(d.code))
	}
	test.Type(d.editor, "x")
	if d.code.Marked() != 0 {
		t.Error("the error mark outlived the edit that may have fixed it")
	}

	test.Tap(d.code.wrap)
	if d.editor.Wrapping != fyne.TextWrapWord || d.code.gutter.Visible() {
		t.Errorf("wrap on: wrapping %v, gutter shown %v", d.editor.Wrapping, d.code.gutter.Visible())
	}
	test.Tap(d.code.wrap)
	if d.editor.Wrapping != fyne.TextWrapOff || !d.code.gutter.Visible() {
		t.Errorf("wrap off: wrapping %v, gutter shown %v", d.editor.Wrapping, d.code.gutter.Visible())
	}
}

func TestPlural(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
	}{{0, "0 operations"}, {1, "1 operation"}, {2, "2 operations"}} {
		if got := plural(tc.n, "operation"); got != tc.want {
			t.Errorf("plural(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
	if got := pluralWord(1, "fetch", "fetches"); got != "1 fetch" {
		t.Errorf("pluralWord(1) = %q", got)
	}
}

// colorOf is the colour the editor's overlay gives the first span spelling text.
func colorOf(c *codeEditor, text string) fyne.ThemeColorName {
	for _, s := range c.colors.Segments {
		if ts := s.(*widget.TextSegment); strings.TrimSpace(ts.Text) == text {
			return ts.Style.ColorName
		}
	}
	return ""
}

func overlayText(c *codeEditor) string {
	var b strings.Builder
	for _, s := range c.colors.Segments {
		b.WriteString(s.(*widget.TextSegment).Text)
	}
	return b.String()
}

func TestEditorHighlightsJavaScriptAsYouType(t *testing.T) {
	h := paired(t)
	h.createApp("Hl", "hl")
	sc := h.createScript("hl", "hello", "// hi\nfunction handle(req) { return 'ok' + 42 }")
	v := h.openApp("hl")
	d := h.openScript(v, sc.ID)
	for _, tc := range []struct{ text, color fyne.ThemeColorName }{
		{"function", theme.ColorNamePrimary},
		{"return", theme.ColorNamePrimary},
		{"'ok'", theme.ColorNameSuccess},
		{"42", theme.ColorNameWarning},
		{"// hi", theme.ColorNamePlaceHolder},
	} {
		if got := colorOf(d.code, string(tc.text)); got != tc.color {
			t.Errorf("%s is coloured %q, want %q", tc.text, got, tc.color)
		}
	}
	d.editor.CursorRow, d.editor.CursorColumn = 1, 0
	test.Type(d.editor, "const ")
	if got := overlayText(d.code); got != d.editor.Text {
		t.Fatalf("the colours spell %q, the editor holds %q", got, d.editor.Text)
	}
	if colorOf(d.code, "const") != theme.ColorNamePrimary {
		t.Error("a keyword typed is not coloured as one")
	}
	if d.code.colors.Wrapping != d.editor.Wrapping {
		t.Error("the colours wrap unlike the text")
	}
	test.Tap(d.code.wrap)
	if d.code.colors.Wrapping != fyne.TextWrapWord {
		t.Error("with Wrap lines on, the colours do not wrap with the text")
	}
}
