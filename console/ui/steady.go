package ui

import "fyne.io/fyne/v2"

// Steady makes a the current app with Fyne's animations off, and returns
// it. A focused field's blinking cursor is such an animation: it repaints
// the whole window about twelve times a second, which cost 47% of a core
// under software GL (a Pi's desktop) with the script editor focused and
// nothing else happening, against 1% unfocused. With Steady the cursor is
// drawn steadily and the activity indicator is a static ellipsis.
func Steady(a fyne.App) fyne.App {
	s := steadyApp{a}
	fyne.SetCurrentApp(s)
	return s
}

type steadyApp struct{ fyne.App }

func (a steadyApp) Settings() fyne.Settings { return steadySettings{a.App.Settings()} }

type steadySettings struct{ fyne.Settings }

func (steadySettings) ShowAnimations() bool { return false }
