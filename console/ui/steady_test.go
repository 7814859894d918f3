package ui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

func TestSteadyTurnsAnimationsOffAndKeepsTheRest(t *testing.T) {
	a := test.NewApp()
	defer a.Quit()
	s := Steady(a)
	if fyne.CurrentApp() != s {
		t.Fatal("Steady did not make its app the current one")
	}
	if fyne.CurrentApp().Settings().ShowAnimations() {
		t.Error("animations still on: a focused field's cursor keeps repainting the window")
	}
	if s.Settings().Theme() != a.Settings().Theme() || s.Clipboard() != a.Clipboard() {
		t.Error("Steady changed more than animations")
	}
}
