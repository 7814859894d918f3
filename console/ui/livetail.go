package ui

import (
	"context"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/picloud/picloud/shared"
)

// tailAdmin follows an app's executions as they happen (SPEC §11).
type tailAdmin interface {
	Tail(ctx context.Context, ref string, f shared.TailFilter, fn func(shared.TailEvent) error) error
}

// liveKeep is how many executions Live mode keeps on screen.
const liveKeep = 500

// liveTail is the Logs tab's Live mode: it follows the node's tail with
// the tab's script filter plus status and search, shows entries as they
// are recorded, can be paused (entries then wait, counted, and appear on
// resume) and shows how many the node dropped because the console fell
// behind.
type liveTail struct {
	t        *logsTab
	controls fyne.CanvasObject

	on      *widget.Check
	pause   *widget.Button
	status  *widget.Select
	search  *widget.Entry
	state   *widget.Label
	stop    context.CancelFunc
	paused  bool
	waiting []shared.Log
	dropped int64
	gen     int // which tail the events belong to: a restart ignores the old one's
}

func newLiveTail(t *logsTab) *liveTail {
	l := &liveTail{t: t, state: widget.NewLabel("")}
	l.on = widget.NewCheck("Live", l.setOn)
	l.pause = widget.NewButton("Pause", l.togglePause)
	l.pause.Disable()
	l.status = widget.NewSelect([]string{"All runs", "Succeeded", "Failed"}, func(string) { l.filtered() })
	l.status.SetSelectedIndex(0)
	l.search = widget.NewEntry()
	l.search.SetPlaceHolder("search path, error, output")
	l.search.OnSubmitted = func(string) { l.restart() }
	l.search.OnChanged = func(string) {
		if l.stop == nil { // polling filters what it loaded, as you type
			l.filtered()
		}
	}
	l.controls = container.NewHBox(l.on, l.pause, l.status, container.NewGridWrap(fyne.NewSize(220, 36), l.search), l.state)
	return l
}

func (l *liveTail) filter() shared.TailFilter {
	f := shared.TailFilter{ScriptID: l.t.scriptID, Search: l.search.Text}
	switch l.status.Selected {
	case "Succeeded":
		f.Status = shared.TailStatusOK
	case "Failed":
		f.Status = shared.TailStatusError
	}
	return f
}

func (l *liveTail) setOn(on bool) {
	l.end()
	if !on {
		l.pause.Disable()
		l.state.SetText("")
		return
	}
	l.t.auto.SetChecked(false) // Live replaces polling
	l.pause.Enable()
	l.start()
}

// filtered applies changed filters: Live asks the node again, the polled
// list filters what it has.
func (l *liveTail) filtered() {
	if l.stop != nil {
		l.restart()
		return
	}
	if l.t.live != nil {
		l.t.render()
	}
}

// restart follows again with the filters as they are now.
func (l *liveTail) restart() {
	if l.stop != nil {
		l.end()
		l.start()
	}
}

func (l *liveTail) end() {
	if l.stop != nil {
		l.stop()
		l.stop = nil
	}
	l.gen++
}

func (l *liveTail) start() {
	v, f := l.t.v, l.filter()
	ctx, cancel := context.WithCancel(v.ctx)
	l.stop, l.dropped, l.waiting, l.paused = cancel, 0, nil, false
	l.pause.SetText("Pause")
	l.t.logs = nil
	l.t.clearDetail() // the list starts over: what was selected is no longer in it
	l.t.render()
	gen := l.gen
	l.state.SetText("connecting…")
	go func() {
		err := v.client.Tail(ctx, v.ref, f, func(ev shared.TailEvent) error {
			v.post(func() {
				if gen == l.gen {
					l.apply(ev)
				}
			})
			return nil
		})
		v.post(func() {
			if gen != l.gen || ctx.Err() != nil {
				return
			}
			l.stop = nil
			l.on.SetChecked(false)
			if err != nil {
				l.state.SetText("stopped: " + err.Error())
			} else {
				l.state.SetText("ended by the node")
			}
		})
	}()
}

func (l *liveTail) apply(ev shared.TailEvent) {
	switch {
	case ev.Opened:
	case ev.Dropped > 0:
		l.dropped += ev.Dropped
	}
	if ev.Log != nil {
		if l.paused {
			l.waiting = append(l.waiting, *ev.Log)
			if len(l.waiting) > liveKeep {
				l.waiting = l.waiting[1:]
				l.dropped++
			}
		} else {
			l.add(*ev.Log)
		}
	}
	l.showState()
}

// add puts an execution at the top of the list, keeping liveKeep.
func (l *liveTail) add(e shared.Log) {
	t := l.t
	t.logs = append([]shared.Log{e}, t.logs...)
	if len(t.logs) > liveKeep {
		t.logs = t.logs[:liveKeep]
	}
	t.render()
}

func (l *liveTail) togglePause() {
	l.paused = !l.paused
	if l.paused {
		l.pause.SetText("Resume")
	} else {
		l.pause.SetText("Pause")
		for _, e := range l.waiting {
			l.add(e)
		}
		l.waiting = nil
	}
	l.showState()
}

func (l *liveTail) showState() {
	s := "following"
	if l.paused {
		s = fmt.Sprintf("paused, %d waiting", len(l.waiting))
	}
	if l.dropped > 0 {
		s += fmt.Sprintf(" · %d dropped", l.dropped)
	}
	l.state.SetText(s)
}
