package ui

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/picloud/picloud/shared"
)

// varsAdmin is what the Variables section needs of a node.
type varsAdmin interface {
	Env(ctx context.Context, ref string) ([]shared.EnvVar, error)
	PutEnv(ctx context.Context, ref, name string, req shared.PutEnvRequest) (shared.EnvVar, error)
	DeleteEnv(ctx context.Context, ref, name string) error
}

// varsSection is the Variables card of an app's Settings (SPEC §8): the
// app's variables and secrets, env.NAME in its scripts. A secret's value
// is write-only: it can be replaced, never shown, since the node never
// sends it.
type varsSection struct {
	v    *appView
	card *widget.Card

	name, value       *widget.Entry
	nameErr, valueErr *widget.Label
	secret            *widget.Check
	save, cancel      *widget.Button
	msg               *widget.Label
	count             *widget.Label
	list              *fyne.Container

	env     []shared.EnvVar // as the node last answered
	editing string          // the entry being edited; "" adds one
}

func newVarsSection(v *appView) *varsSection {
	t := &varsSection{v: v, name: widget.NewEntry(), value: widget.NewEntry(),
		nameErr: newFieldErr(), valueErr: newFieldErr(), msg: newMsg(), count: widget.NewLabel(""), list: container.NewVBox()}
	t.name.SetPlaceHolder("API_TOKEN")
	t.name.OnChanged = func(string) { t.validate() }
	t.value.OnChanged = func(string) { t.validate() }
	t.value.OnSubmitted = func(string) { t.submit() }
	t.secret = widget.NewCheck("Secret: stored encrypted, never shown again, hidden in logs", func(on bool) {
		t.value.Password = on
		t.value.Refresh()
		t.validate()
	})
	t.save = widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), t.submit)
	t.save.Importance = widget.HighImportance
	t.cancel = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), t.resetForm)
	t.cancel.Hide()
	form := widget.NewForm(
		widget.NewFormItem("Name", container.NewVBox(t.name, t.nameErr)),
		widget.NewFormItem("Value", container.NewVBox(t.value, t.valueErr)),
		widget.NewFormItem("", t.secret),
	)
	t.card = widget.NewCard("Variables", "Scripts read them as env.NAME in handle(req, env); a change applies to the next request.",
		container.NewVBox(form, container.NewHBox(t.save, t.cancel), t.msg, t.count, widget.NewSeparator(), t.list))
	t.validate()
	return t
}

// newFieldErr is an inline error under a form field.
func newFieldErr() *widget.Label {
	l := newMsg()
	l.Importance = widget.DangerImportance
	return l
}

// validate checks the form with the node's own rules as the user types,
// and says what saving will do.
func (t *varsSection) validate() {
	name := strings.TrimSpace(t.name.Text)
	nameErr, valueErr := "", ""
	if name != "" {
		if err := shared.ValidateEnvName(name); err != nil {
			nameErr = Message(err)
		}
	}
	value := t.value.Text
	if err := shared.ValidateEnvValue(&value); err != nil {
		valueErr = Message(err)
	}
	showMsg(t.nameErr, nameErr, widget.DangerImportance)
	showMsg(t.valueErr, valueErr, widget.DangerImportance)
	if name == "" || nameErr != "" || valueErr != "" {
		t.save.Disable()
		return
	}
	t.save.Enable()
	if t.editing == "" {
		if old, ok := t.find(name); ok {
			kind := "variable"
			if old.Secret {
				kind = "secret"
			}
			showMsg(t.msg, fmt.Sprintf("Saving replaces the %s %s.", kind, name), widget.WarningImportance)
			return
		}
	}
	showMsg(t.msg, "", widget.MediumImportance)
}

func (t *varsSection) find(name string) (shared.EnvVar, bool) {
	i := slices.IndexFunc(t.env, func(e shared.EnvVar) bool { return e.Name == name })
	if i < 0 {
		return shared.EnvVar{}, false
	}
	return t.env[i], true
}

func (t *varsSection) reload() {
	v := t.v
	call(v.tasks, "load variables", func(ctx context.Context) ([]shared.EnvVar, error) {
		return v.client.Env(ctx, v.ref)
	}, t.render, nil)
}

func (t *varsSection) render(env []shared.EnvVar) {
	t.env = env
	objs := []fyne.CanvasObject{}
	for _, e := range env {
		e := e
		name := widget.NewLabelWithStyle(e.Name, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
		what := widget.NewLabel(describeEnv(e))
		what.Wrapping = fyne.TextWrapWord
		if e.Unreadable {
			what.Importance = widget.DangerImportance
		}
		edit := widget.NewButtonWithIcon("Edit", theme.DocumentCreateIcon(), func() { t.edit(e) })
		edit.Importance = widget.LowImportance
		del := widget.NewButtonWithIcon("Delete", theme.DeleteIcon(), func() { t.confirmDelete(e.Name) })
		del.Importance = widget.LowImportance
		objs = append(objs, container.NewBorder(nil, widget.NewSeparator(), nil, container.NewHBox(edit, del),
			container.NewVBox(name, what)))
	}
	if len(objs) == 0 {
		objs = append(objs, widget.NewLabel("No variables yet: env has only what the node adds."))
	}
	t.count.SetText(fmt.Sprintf("%d of %d variables and secrets", len(env), shared.MaxEnvEntries))
	t.list.Objects = objs
	t.list.Refresh()
	t.validate()
}

// describeEnv says what an entry holds: a variable's value (shortened), or
// only whether a secret is set.
func describeEnv(e shared.EnvVar) string {
	switch {
	case e.Unreadable:
		return "secret · cannot be decrypted: this node's secrets.key is not the one it was set under. Restore that key, or set it again."
	case e.Secret:
		return "secret · set " + e.UpdatedAt.Local().Format("2006-01-02 15:04")
	case e.Value == nil || *e.Value == "":
		return "(empty)"
	}
	v := strings.ReplaceAll(*e.Value, "\n", `\n`)
	if r := []rune(v); len(r) > 80 {
		v = string(r[:79]) + "…"
	}
	return v
}

// edit loads an entry into the form. A secret's value is not known to the
// console: the field starts empty and saving replaces it.
func (t *varsSection) edit(e shared.EnvVar) {
	t.editing = e.Name
	t.name.SetText(e.Name)
	t.name.Disable()
	t.secret.SetChecked(e.Secret)
	if e.Secret {
		t.value.SetText("")
		t.value.SetPlaceHolder("the new value (the current one is never shown)")
	} else if e.Value != nil {
		t.value.SetText(*e.Value)
	}
	t.save.SetText("Replace")
	if !e.Secret {
		t.save.SetText("Save")
	}
	t.cancel.Show()
	t.validate()
}

func (t *varsSection) resetForm() {
	t.editing = ""
	t.name.Enable()
	t.name.SetText("")
	t.value.SetText("")
	t.value.SetPlaceHolder("")
	t.secret.SetChecked(false)
	t.save.SetText("Save")
	t.cancel.Hide()
	showMsg(t.nameErr, "", widget.DangerImportance)
	showMsg(t.valueErr, "", widget.DangerImportance)
	t.validate()
}

func (t *varsSection) submit() {
	v := t.v
	name, value, secret := strings.TrimSpace(t.name.Text), t.value.Text, t.secret.Checked
	req := shared.PutEnvRequest{Value: &value, Secret: &secret}
	call(v.tasks, "save variable", func(ctx context.Context) (shared.EnvVar, error) {
		return v.client.PutEnv(ctx, v.ref, name, req)
	}, func(e shared.EnvVar) {
		t.resetForm()
		what := "variable"
		if e.Secret {
			what = "secret"
		}
		showMsg(t.msg, fmt.Sprintf("Saved the %s %s: the next request sees it.", what, e.Name), widget.SuccessImportance)
		t.reload()
	}, func(err error) bool {
		e, ok := shared.AsError(err)
		switch {
		case ok && e.Detail("field") == "name":
			showMsg(t.nameErr, e.Message, widget.DangerImportance)
		case ok && e.Detail("field") == "value":
			showMsg(t.valueErr, e.Message, widget.DangerImportance)
		default:
			showMsg(t.msg, Message(err), widget.DangerImportance)
		}
		return true
	})
}

func (t *varsSection) confirmDelete(name string) {
	v := t.v
	dialog.ShowConfirm("Delete "+name+"?", "Scripts reading env."+name+" get undefined from the next request on.", func(ok bool) {
		if !ok {
			return
		}
		call(v.tasks, "delete variable", func(ctx context.Context) (struct{}, error) {
			return struct{}{}, v.client.DeleteEnv(ctx, v.ref, name)
		}, func(struct{}) {
			if t.editing == name {
				t.resetForm()
			}
			showMsg(t.msg, "Deleted "+name+".", widget.SuccessImportance)
			t.reload()
		}, func(err error) bool {
			showMsg(t.msg, Message(err), widget.DangerImportance)
			return true
		})
	}, v.win)
}

// ---- the Run panel's note on missing variables ----

var (
	// The second parameter of handle or scheduled: what the script calls env.
	envParam = regexp.MustCompile(`(?:function\s*\*?\s*(?:handle|scheduled)\s*|(?:handle|scheduled)\s*[=:]\s*(?:async\s*)?(?:function\s*)?)\(\s*[\w$]*\s*,\s*([\w$]+)`)
	envName  = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)
)

// envNamesRead finds the env names a script reads, as far as its text
// shows them: env.NAME, env["NAME"] and const {NAME} = env, for whatever
// the script calls its env parameter. KV is the app's KV namespace, not a
// variable.
func envNamesRead(src string) []string {
	params := map[string]bool{"env": true}
	for _, m := range envParam.FindAllStringSubmatch(src, -1) {
		params[m[1]] = true
	}
	seen := map[string]bool{}
	for p := range params {
		q := regexp.QuoteMeta(p)
		for _, re := range []*regexp.Regexp{
			regexp.MustCompile(`\b` + q + `\s*\.\s*([A-Za-z_$][\w$]*)`),
			regexp.MustCompile(`\b` + q + `\s*\[\s*["'\x60]([^"'\x60]+)["'\x60]\s*\]`),
		} {
			for _, m := range re.FindAllStringSubmatch(src, -1) {
				seen[m[1]] = true
			}
		}
		destructure := regexp.MustCompile(`\{([^{}]*)\}\s*=\s*` + q + `\b`)
		for _, m := range destructure.FindAllStringSubmatch(src, -1) {
			for _, part := range strings.Split(m[1], ",") {
				k, _, _ := strings.Cut(part, ":")
				k, _, _ = strings.Cut(k, "=")
				seen[strings.TrimSpace(k)] = true
			}
		}
	}
	var out []string
	for k := range seen {
		if k != "KV" && envName.MatchString(k) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// missingEnvNote says which env names src reads that env lacks, or "".
func missingEnvNote(src string, env []shared.EnvVar, app string) string {
	var missing []string
	for _, k := range envNamesRead(src) {
		if !slices.ContainsFunc(env, func(e shared.EnvVar) bool { return e.Name == k && !e.Unreadable }) {
			missing = append(missing, "env."+k)
		}
	}
	switch len(missing) {
	case 0:
		return ""
	case 1:
		return fmt.Sprintf("This script reads %s, which app “%s” does not have: it is undefined. Add it under Settings › Variables.", missing[0], app)
	}
	return fmt.Sprintf("This script reads %s and %s, which app “%s” does not have: they are undefined. Add them under Settings › Variables.",
		strings.Join(missing[:len(missing)-1], ", "), missing[len(missing)-1], app)
}

// checkEnv shows, in the Run panel, the env names the script's saved
// source reads that its app lacks.
func (s *scriptDetail) checkEnv() {
	v := s.t.v
	src := s.script.Source
	call(v.tasks, "load variables", func(ctx context.Context) ([]shared.EnvVar, error) {
		return v.client.Env(ctx, v.ref)
	}, func(env []shared.EnvVar) {
		showMsg(s.run.envNote, missingEnvNote(src, env, v.app.Name), widget.WarningImportance)
	}, nil)
}
