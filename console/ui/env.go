package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
)

// env is what a view needs from the console: run calls off the UI
// goroutine, talk to the node it shows, open dialogs, report. Views embed
// it (v.tasks, v.client, v.win) rather than reach through their parents,
// so a view can be built and tested from these four alone.
type env struct {
	tasks  *tasks
	client Admin
	win    fyne.Window
	// post runs a function on the UI goroutine (for timers and goroutines
	// of the view's own; call already hands results back there).
	post func(func())
	// leave runs a way off the current screen once the user has saved or
	// discarded unsaved edits (Console.leave).
	leave func(then func())
	// confirm asks before a delete, with a red Delete button.
	confirm func(title, msg string, del func())
	// show shows a dialog with Escape bound to cancel it.
	show func(d dialog.Dialog, cancel func())
}

// info shows a message in the status bar.
func (e env) info(msg string) { e.tasks.report(msg, false) }
