package ui

import (
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// saveShortcut is Ctrl+S (Cmd+S on macOS).
var saveShortcut = &desktop.CustomShortcut{KeyName: fyne.KeyS, Modifier: fyne.KeyModifierShortcutDefault}

// codeEntry is the script editor's text field. A focused Entry receives
// every shortcut and drops the ones it does not know, so Ctrl+S is caught
// here; the window's canvas has it too for when the editor is not focused.
type codeEntry struct {
	widget.Entry
	onSave func()
}

func newCodeEntry() *codeEntry {
	e := &codeEntry{}
	e.MultiLine = true
	e.Wrapping = fyne.TextWrapOff
	// The entry grows to its text and one scroll moves it with the gutter.
	e.Scroll = fyne.ScrollNone
	e.TextStyle = fyne.TextStyle{Monospace: true}
	e.ExtendBaseWidget(e)
	return e
}

func (e *codeEntry) TypedShortcut(s fyne.Shortcut) {
	if s.ShortcutName() == saveShortcut.ShortcutName() && e.onSave != nil {
		e.onSave()
		return
	}
	e.Entry.TypedShortcut(s)
}

// codeEditor is the entry with a gutter of line numbers, where the line of
// the last syntax error is marked, and a word-wrap toggle.
type codeEditor struct {
	entry   *codeEntry
	gutter  *widget.RichText
	wrap    *widget.Check
	view    fyne.CanvasObject
	lines   int
	errLine int // 1-based, 0 for none
}

func newCodeEditor() *codeEditor {
	c := &codeEditor{entry: newCodeEntry(), gutter: widget.NewRichText()}
	scroll := container.NewScroll(container.NewBorder(nil, nil, c.gutter, nil, c.entry))
	c.wrap = widget.NewCheck("Wrap lines", func(on bool) {
		// Wrapped lines would not match the numbers: the gutter goes.
		if on {
			c.entry.Wrapping = fyne.TextWrapWord
			c.gutter.Hide()
			scroll.Direction = container.ScrollVerticalOnly
		} else {
			c.entry.Wrapping = fyne.TextWrapOff
			c.gutter.Show()
			scroll.Direction = container.ScrollBoth
		}
		c.entry.Refresh()
		scroll.Refresh()
	})
	c.view = scroll
	c.renderGutter()
	return c
}

// changed updates the gutter after an edit; an edit also clears the mark.
func (c *codeEditor) changed(text string) {
	n := strings.Count(text, "\n") + 1
	if n == c.lines && c.errLine == 0 {
		return
	}
	c.lines, c.errLine = n, 0
	c.renderGutter()
}

// markError marks line (1-based) in the gutter and puts the cursor there.
func (c *codeEditor) markError(line, col int) {
	c.errLine = line
	c.renderGutter()
	c.entry.CursorRow = line - 1
	c.entry.CursorColumn = max(col-1, 0)
	c.entry.Refresh()
}

func (c *codeEditor) renderGutter() {
	width := len(strconv.Itoa(max(c.lines, 1)))
	num := func(i int) string {
		s := strconv.Itoa(i)
		return strings.Repeat(" ", width-len(s)) + s
	}
	style := func(color fyne.ThemeColorName) widget.RichTextStyle {
		return widget.RichTextStyle{ColorName: color, TextStyle: fyne.TextStyle{Monospace: true}, SizeName: theme.SizeNameText}
	}
	var segs []widget.RichTextSegment
	var run []string
	flush := func() {
		if len(run) > 0 {
			segs = append(segs, &widget.TextSegment{Text: strings.Join(run, "\n"), Style: style(theme.ColorNamePlaceHolder)})
			run = nil
		}
	}
	for i := 1; i <= max(c.lines, 1); i++ {
		if i == c.errLine {
			flush()
			segs = append(segs, &widget.TextSegment{Text: "●" + num(i), Style: style(theme.ColorNameError)})
			continue
		}
		run = append(run, " "+num(i))
	}
	flush()
	c.gutter.Segments = segs
	c.gutter.Refresh()
}

// Marked returns the gutter's marked line, 0 for none (tests).
func (c *codeEditor) Marked() int { return c.errLine }
