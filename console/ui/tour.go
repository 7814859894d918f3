package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"

	"github.com/picloud/picloud/shared"
	"github.com/picloud/picloud/shared/discovery"
)

// TourOptions say what the screenshot tour opens.
type TourOptions struct {
	Addr, Token string // node to add and pair with
	App         string // slug of the app to open
	Takeover    string // optional: a reserved slug to try renaming App to (shows the confirm dialog)
	Settle      time.Duration
}

// Tour drives the console through each main screen, as a user would, and
// calls shot with a file name once each screen has loaded. It adds the
// node, pairs with its token, opens the app and its first script. It must
// run off the UI goroutine; cmd/console uses it to write screenshots.
func (c *Console) Tour(o TourOptions, shot func(name string) error) error {
	addr, token, app, settle := o.Addr, o.Token, o.App, o.Settle
	step := func(name string, do func()) error {
		if do != nil {
			fyne.DoAndWait(do)
		}
		// A focused field's blinking cursor repaints the window about 12
		// times a second; under a dialog's blur and software GL each frame
		// takes seconds and starves the UI goroutine the tour waits on.
		fyne.DoAndWait(func() { c.win.Canvas().Unfocus() })
		if err := c.Wait(2 * time.Minute); err != nil { // dialogs paint slowly under Xvfb's software GL
			return fmt.Errorf("%s: %w", name, err)
		}
		time.Sleep(settle) // let the driver paint the new frame
		if err := shot(name); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
	var id string
	if err := step("01-welcome", nil); err != nil {
		return err
	}
	if err := step("02-node-found", func() { c.AddAddress(addr) }); err != nil {
		return err
	}
	_, hostport, err := discovery.ParseAddr(addr)
	if err != nil {
		return err
	}
	fyne.DoAndWait(func() {
		for _, e := range c.nodes.list.Sorted() {
			if e.ID != "" && (e.Manual == hostport || e.Address == hostport) {
				id = e.ID
			}
		}
	})
	if id == "" {
		return fmt.Errorf("no node found at %s: %s", addr, c.Status())
	}
	if err := step("03-apps", func() { c.Pair(id, token) }); err != nil {
		return err
	}
	if err := step("04-app-overview", func() { c.OpenApp(app) }); err != nil {
		return err
	}
	var v *appView
	fyne.DoAndWait(func() {
		if c.cur != nil {
			v = c.cur.app
		}
	})
	if v == nil {
		return fmt.Errorf("app %s did not open: %s", app, c.Status())
	}
	if err := step("05-scripts", func() { v.Select("Scripts") }); err != nil {
		return err
	}
	if err := step("06-script-editor", func() {
		if len(v.scripts.scripts) > 0 {
			v.scripts.open(v.scripts.scripts[0].ID)
		}
	}); err != nil {
		return err
	}
	if err := step("06-script-syntax-error", func() {
		if d := v.scripts.detail; d != nil {
			d.editor.SetText(d.script.Source + "\nfunction broken() {\n  return 1 +;\n}\n")
			d.save()
		}
	}); err != nil {
		return err
	}
	if err := step("06-script-conflict", func() {
		d := v.scripts.detail
		if d == nil {
			return
		}
		// Someone else saves meanwhile; this editor then saves against its version.
		other := d.script.Source + "// edited in another console\n"
		id := d.script.ID
		call(v.tasks, "tour: save elsewhere", func(ctx context.Context) (shared.Script, error) {
			return v.client.UpdateScript(ctx, id, shared.UpdateScriptRequest{Source: &other})
		}, func(shared.Script) {
			d.editor.SetText(d.script.Source + "// my edit\n")
			d.save()
		}, nil)
	}); err != nil {
		return err
	}
	theirs := func(then func(d *scriptDetail, sc shared.Script)) func() {
		return func() {
			d := v.scripts.detail
			if d == nil {
				return
			}
			if d.dialog != nil {
				d.dialog.Hide()
			}
			id := d.script.ID
			call(v.tasks, "tour: load script", func(ctx context.Context) (shared.Script, error) {
				return v.client.Script(ctx, id)
			}, func(sc shared.Script) { then(d, sc) }, nil)
		}
	}
	if err := step("06-script-compare", theirs(func(d *scriptDetail, sc shared.Script) { d.compare(sc, nil) })); err != nil {
		return err
	}
	if err := step("06-script-reloaded", theirs(func(d *scriptDetail, sc shared.Script) { d.reloadFrom(sc) })); err != nil {
		return err
	}
	if err := step("07-script-run", func() {
		if d := v.scripts.detail; d != nil {
			r := d.run
			for _, rt := range r.routes { // the route with a parameter, to show it bound
				if strings.Contains(rt.Path, ":") {
					r.route.SetSelected(runRouteText(rt))
				}
			}
			for _, f := range r.fields {
				f.entry.SetText("ada")
			}
			r.query.SetText("lang=en")
			r.headers.SetText("Accept: text/plain")
			r.execute()
		}
	}); err != nil {
		return err
	}
	if err := step("08-script-sandbox", func() {
		if d := v.scripts.detail; d != nil {
			d.inner.SelectIndex(1)
			d.knobs["max_operations"].entry.SetText("999999999999")
			d.saveLimits()
		}
	}); err != nil {
		return err
	}
	if err := step("09-script-routes", func() {
		if d := v.scripts.detail; d != nil {
			d.inner.SelectIndex(2)
		}
	}); err != nil {
		return err
	}
	if err := step("09-script-history", func() {
		if d := v.scripts.detail; d != nil {
			d.inner.SelectIndex(len(d.inner.Items) - 1)
		}
	}); err != nil {
		return err
	}
	if err := step("09-script-history-diff", func() { tourHistoryDiff(v) }); err != nil {
		return err
	}
	// The diff's edit is the tour's, not the user's: leaving the script must
	// not ask to save it over every later screen.
	fyne.DoAndWait(func() {
		if d := v.scripts.detail; d != nil {
			d.editor.SetText(d.script.Source)
		}
	})
	if err := step("10-domains", func() { v.Select("Domains") }); err != nil {
		return err
	}
	if err := step("10-schedules", func() {
		v.Select("Schedules")
		v.sched.zone.SetText("Europe/Berlin")
		v.sched.cron.SetText("30 7 * * MON-FRI")
	}); err != nil {
		return err
	}
	if err := step("10-data", func() { v.Select("Data") }); err != nil {
		return err
	}
	if err := step("10-data-value", func() {
		for i, k := range v.kv.keys {
			if k.Name == "settings" {
				v.kv.list.Select(i)
			}
		}
	}); err != nil {
		return err
	}
	if err := step("11-settings", func() {
		v.Select("Settings")
		v.settings.slug.SetText(app + "-v2")
	}); err != nil {
		return err
	}
	if o.Takeover != "" {
		if err := step("11-settings-reserved", func() { v.settings.slug.SetText(o.Takeover) }); err != nil {
			return err
		}
		if err := step("11-settings-takeover-confirm", v.settings.doRename); err != nil {
			return err
		}
		fyne.DoAndWait(func() {
			if v.settings.confirm != nil {
				v.settings.confirm.Hide()
			}
		})
	}
	if err := step("12-logs", func() { v.Select("Logs") }); err != nil {
		return err
	}
	if err := step("13-log-detail", func() {
		if len(v.logs.logs) > 0 {
			v.logs.show(v.logs.logs[0])
		}
	}); err != nil {
		return err
	}
	fyne.DoAndWait(func() { v.logs.live.on.SetChecked(true) })
	time.Sleep(settle) // the tail opens
	// A few runs while Live follows, so it shows them arriving.
	for _, name := range []string{"grace", "linus", "ken"} {
		fyne.DoAndWait(func() {
			if d := v.scripts.detail; d != nil {
				for _, f := range d.run.fields {
					f.entry.SetText(name)
				}
				d.run.execute()
			}
		})
		if err := c.Wait(2 * time.Minute); err != nil {
			return fmt.Errorf("14-logs-live: %w", err)
		}
	}
	if err := step("14-logs-live", nil); err != nil {
		return err
	}
	return tourImport(v, step)
}

// tourImport exports the app into a temporary folder, shows Import app…'s
// file dialog there, then the prompt for the secrets the document names.
func tourImport(v *appView, step func(string, func()) error) error {
	dir, err := os.MkdirTemp("", "picloud-tour-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(v.ctx, time.Minute)
	defer cancel()
	doc, err := v.client.Export(ctx, v.ref, true)
	if err != nil {
		return fmt.Errorf("15-import-dialog: export: %w", err)
	}
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, doc.App.Slug+".picloud.json"), data, 0o600); err != nil {
		return err
	}
	lister, err := storage.ListerForURI(storage.NewFileURI(dir))
	if err != nil {
		return err
	}
	var fd *dialog.FileDialog
	if err := step("15-import-dialog", func() {
		fd = importApp(v.env, func(shared.Imported, error) {})
		fd.SetLocation(lister)
	}); err != nil {
		return err
	}
	fyne.DoAndWait(fd.Hide)
	return step("16-import-secrets", func() { askSecrets(v.env, doc, func(map[string]string) {}) })
}

// tourHistoryDiff shows the diff of the script's oldest kept version
// against an edit in the editor.
func tourHistoryDiff(v *appView) {
	d := v.scripts.detail
	if d == nil || len(d.history.versions) == 0 {
		return
	}
	// A change on a short line, so the diff shows it without scrolling.
	d.editor.SetText(strings.Replace(d.editor.Text, `"greeting"`, `"greeted"`, 1) + "// edited in the console\n")
	d.history.show(d.history.versions[len(d.history.versions)-1])
}
