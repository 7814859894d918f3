package ui

import (
	"image/color"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/picloud/picloud/console/code"
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
// the last syntax error is marked, and a word-wrap toggle. The colours are
// a RichText drawn over the entry, whose own text is transparent: both lay
// text out with the same padding, font and wrapping, so the coloured copy
// sits exactly on the typed text, while the entry below keeps the cursor,
// the selection and every key. The RichText takes no input, so taps and
// drags reach the entry.
type codeEditor struct {
	entry   *codeEntry
	colors  *widget.RichText
	gutter  *widget.RichText
	wrap    *widget.Check
	view    fyne.CanvasObject
	lines   int
	errLine int // 1-based, 0 for none
}

func newCodeEditor() *codeEditor {
	c := &codeEditor{entry: newCodeEntry(), gutter: widget.NewRichText(), colors: widget.NewRichText()}
	field := container.NewStack(container.NewThemeOverride(c.entry, inkless{}), c.colors)
	scroll := container.NewScroll(container.NewBorder(nil, nil, c.gutter, nil, field))
	c.wrap = widget.NewCheck("Wrap lines", func(on bool) {
		// Wrapped lines would not match the numbers: the gutter goes.
		if on {
			c.entry.Wrapping = fyne.TextWrapWord
			c.colors.Wrapping = fyne.TextWrapWord
			c.gutter.Hide()
			scroll.Direction = container.ScrollVerticalOnly
		} else {
			c.entry.Wrapping = fyne.TextWrapOff
			c.colors.Wrapping = fyne.TextWrapOff
			c.gutter.Show()
			scroll.Direction = container.ScrollBoth
		}
		c.entry.Refresh()
		c.colors.Refresh()
		scroll.Refresh()
	})
	c.view = scroll
	c.renderGutter()
	return c
}

// changed updates the colours and the gutter after an edit; an edit also
// clears the mark.
func (c *codeEditor) changed(text string) {
	c.paint(text)
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
			segs = append(segs, &widget.TextSegment{Text: "•" + num(i), Style: style(theme.ColorNameError)})
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

// spanColors are the highlighting's colours, by theme name so they follow
// light and dark mode.
var spanColors = map[code.Kind]fyne.ThemeColorName{
	code.Plain:   theme.ColorNameForeground,
	code.Keyword: theme.ColorNamePrimary,
	code.String:  theme.ColorNameSuccess,
	code.Comment: theme.ColorNamePlaceHolder,
	code.Number:  theme.ColorNameWarning,
}

// paint colours text into the overlay.
func (c *codeEditor) paint(text string) {
	spans := code.Highlight(text)
	segs := make([]widget.RichTextSegment, 0, len(spans))
	for _, sp := range spans {
		style := widget.RichTextStyle{Inline: true, ColorName: spanColors[sp.Kind], SizeName: theme.SizeNameText,
			TextStyle: fyne.TextStyle{Monospace: true}}
		segs = append(segs, &widget.TextSegment{Text: sp.Text, Style: style})
	}
	c.colors.Segments = segs
	c.colors.Refresh()
}

// inkless is the current theme with transparent text: the editor's entry
// under its coloured overlay.
type inkless struct{}

func (inkless) base() fyne.Theme { return fyne.CurrentApp().Settings().Theme() }

func (t inkless) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	if n == theme.ColorNameForeground {
		return color.Transparent
	}
	return t.base().Color(n, v)
}

func (t inkless) Font(s fyne.TextStyle) fyne.Resource     { return t.base().Font(s) }
func (t inkless) Icon(n fyne.ThemeIconName) fyne.Resource { return t.base().Icon(n) }
func (t inkless) Size(n fyne.ThemeSizeName) float32       { return t.base().Size(n) }
