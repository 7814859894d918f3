package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/picloud/picloud/console/registry"
	"github.com/picloud/picloud/shared"
)

// moveAdmin exports an app as a document and imports one (SPEC §11).
type moveAdmin interface {
	Export(ctx context.Context, ref string, kv bool) (shared.Export, error)
	Import(ctx context.Context, req shared.ImportRequest) (shared.Imported, error)
}

// exportApp asks where to save the app's document (with its KV data) and
// writes it there; the file is named after slug (ref is the app's id).
func exportApp(e env, ref, slug string, done func(error)) {
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			return
		}
		writeExport(e, ref, w, done)
	}, e.win)
	d.SetFileName(slug + ".picloud.json")
	d.SetFilter(storage.NewExtensionFileFilter([]string{".json"}))
	d.Show()
}

// writeExport fetches the document and writes it, indented, to w.
func writeExport(e env, ref string, w io.WriteCloser, done func(error)) {
	c := e.client
	call(e.tasks, "export app", func(ctx context.Context) (struct{}, error) {
		defer w.Close()
		doc, err := c.Export(ctx, ref, true)
		if err != nil {
			return struct{}{}, err
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return struct{}{}, enc.Encode(doc)
	}, func(struct{}) { done(nil) }, func(err error) bool { done(err); return true })
}

// importApp asks for a document, then for the values of the secrets it
// names, and imports it. It returns the file dialog it showed.
func importApp(e env, done func(shared.Imported, error)) *dialog.FileDialog {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		data, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			done(shared.Imported{}, err)
			return
		}
		doc, err := parseExport(data)
		if err != nil {
			done(shared.Imported{}, err)
			return
		}
		askSecrets(e, doc, func(secrets map[string]string) { sendImport(e, doc, secrets, done) })
	}, e.win)
	d.SetFilter(storage.NewExtensionFileFilter([]string{".json"}))
	d.Show()
	return d
}

func parseExport(data []byte) (shared.Export, error) {
	var doc shared.Export
	if err := json.Unmarshal(data, &doc); err != nil {
		return doc, fmt.Errorf("not a PiCloud export: %w", err)
	}
	if doc.Format != shared.ExportFormat {
		return doc, fmt.Errorf("not a PiCloud export (picloud_export is %d, want %d)", doc.Format, shared.ExportFormat)
	}
	return doc, nil
}

// secretNames lists the secrets a document names; their values are never
// in it.
func secretNames(doc shared.Export) []string {
	var out []string
	for _, e := range doc.Env {
		if e.Secret {
			out = append(out, e.Name)
		}
	}
	return out
}

// askSecrets asks for each secret's value (empty leaves it out: the node
// reports it missing); with none it goes straight on.
func askSecrets(e env, doc shared.Export, next func(map[string]string)) {
	names := secretNames(doc)
	if len(names) == 0 {
		next(nil)
		return
	}
	entries := make([]*widget.Entry, len(names))
	items := make([]*widget.FormItem, len(names))
	for i, n := range names {
		entries[i] = widget.NewPasswordEntry()
		entries[i].SetPlaceHolder("value")
		items[i] = widget.NewFormItem(n, entries[i])
	}
	items[len(items)-1].HintText = "Exports never hold secret values. Leave one empty to set it later in Settings."
	d := dialog.NewForm("Secrets of "+doc.App.Name, "Import", "Cancel", items, func(ok bool) {
		if !ok {
			return
		}
		secrets := map[string]string{}
		for i, n := range names {
			if v := entries[i].Text; v != "" {
				secrets[n] = v
			}
		}
		next(secrets)
	}, e.win)
	// Wide enough to see what is typed: a form dialog is otherwise as
	// narrow as its labels.
	d.Resize(fyne.NewSize(520, d.MinSize().Height))
	d.Show()
}

func sendImport(e env, doc shared.Export, secrets map[string]string, done func(shared.Imported, error)) {
	c := e.client
	call(e.tasks, "import app", func(ctx context.Context) (shared.Imported, error) {
		return c.Import(ctx, shared.ImportRequest{Export: doc, Secrets: secrets})
	}, func(im shared.Imported) { done(im, nil) }, func(err error) bool { done(shared.Imported{}, err); return true })
}

// importedText says what an import did, naming secrets left to set.
func importedText(im shared.Imported) string {
	s := fmt.Sprintf("Imported %q as %s.", im.Name, im.Slug)
	if len(im.MissingSecrets) > 0 {
		s += " Set these secrets in its Settings: " + strings.Join(im.MissingSecrets, ", ") + "."
	}
	return s
}

// moveCard is the app Settings' "Move" card: Export app….
func moveCard(v *appView) fyne.CanvasObject {
	msg := newMsg()
	export := widget.NewButtonWithIcon("Export app…", theme.DownloadIcon(), func() {
		exportApp(v.env, v.ref, v.app.Slug, func(err error) {
			if err != nil {
				showMsg(msg, "Export failed: "+err.Error(), widget.DangerImportance)
				return
			}
			showMsg(msg, "Exported.", widget.SuccessImportance)
		})
	})
	return widget.NewCard("Move", "One JSON file with everything the app holds and its data; secrets by name only.",
		container.NewVBox(container.NewHBox(export, copyButton(v, msg)), msg))
}

// importButton is the apps list's "Import app…".
func importButton(v *appsView, msg *widget.Label) *widget.Button {
	return widget.NewButtonWithIcon("Import app…", theme.UploadIcon(), func() {
		importApp(v.env, func(im shared.Imported, err error) {
			if err != nil {
				showMsg(msg, "Import failed: "+err.Error(), widget.DangerImportance)
				return
			}
			showMsg(msg, importedText(im), widget.SuccessImportance)
			v.reload()
		})
	})
}

// copyButton is "Copy to node…": export from this node and import into
// another paired one in one action, asking for the secrets' values (they
// never leave a node).
func copyButton(v *appView, msg *widget.Label) *widget.Button {
	return widget.NewButtonWithIcon("Copy to node…", theme.ContentCopyIcon(), func() {
		targets := otherNodes(v)
		if len(targets) == 0 {
			showMsg(msg, "Pair another node first: there is no other node to copy to.", widget.DangerImportance)
			return
		}
		names := make([]string, len(targets))
		for i, n := range targets {
			names[i] = n.Name + " (" + n.Address + ")"
		}
		pick := widget.NewSelect(names, nil)
		pick.SetSelectedIndex(0)
		dialog.ShowForm("Copy "+v.ref+" to another node", "Copy", "Cancel",
			[]*widget.FormItem{widget.NewFormItem("Node", pick)}, func(ok bool) {
				if !ok {
					return
				}
				target := targets[pick.SelectedIndex()]
				copyToNode(v, target, func(im shared.Imported, err error) {
					if err != nil {
						showMsg(msg, "Copy failed: "+err.Error(), widget.DangerImportance)
						return
					}
					showMsg(msg, importedText(im)+" On "+target.Name+".", widget.SuccessImportance)
				})
			}, v.win)
	})
}

// otherNodes lists the paired nodes other than the one v shows.
func otherNodes(v *appView) []registry.Node {
	var out []registry.Node
	for _, n := range v.nv.c.reg.Nodes() {
		if n.ID != v.nv.entry.ID && n.Token != "" {
			out = append(out, n)
		}
	}
	return out
}

// copyToNode exports the app (with its data), asks for its secrets and
// imports it into target.
func copyToNode(v *appView, target registry.Node, done func(shared.Imported, error)) {
	call(v.tasks, "export app", func(ctx context.Context) (shared.Export, error) {
		return v.client.Export(ctx, v.ref, true)
	}, func(doc shared.Export) {
		to := v.env
		to.client = newClient(target.Scheme, target.Address, target.Token, target.ID)
		askSecrets(v.env, doc, func(secrets map[string]string) { sendImport(to, doc, secrets, done) })
	}, func(err error) bool { done(shared.Imported{}, err); return true })
}
