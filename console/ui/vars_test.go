package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/picloud/picloud/shared"
)

// The Variables section of Settings adds, edits and deletes an app's
// variables and secrets on a real node: what it saves is what the app's
// scripts read, a secret is never shown once saved, and a bad field is
// marked where it is.
func TestVariablesSection(t *testing.T) {
	h := paired(t)
	h.createApp("Shop", "shop")
	sc := h.createScript("shop", "env", `function handle(req, env) { return [env.GREETING, env.TOKEN].join("|") }`)
	runOnce := func() string {
		t.Helper()
		res, err := h.node.Client.Execute(h.ctx(), sc.ID, shared.ExecuteRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return string(res.Body)
	}
	v := h.openApp("shop")
	v.Select("Settings")
	h.wait()
	vs := v.settings.vars

	t.Run("empty", func(t *testing.T) {
		if !strings.Contains(varLabels(vs), "No variables yet") || vs.count.Text != "0 of 128 variables and secrets" || !vs.save.Disabled() {
			t.Errorf("list %q, count %q, save disabled %v", varLabels(vs), vs.count.Text, vs.save.Disabled())
		}
	})

	t.Run("inline errors as you type", func(t *testing.T) {
		for _, tc := range []struct{ name, part string }{
			{"greeting", "not a valid name"},
			{"KV", "reserved"},
			{"1X", "not a valid name"},
		} {
			typeInto(vs.name, tc.name)
			if !vs.nameErr.Visible() || !strings.Contains(vs.nameErr.Text, tc.part) || !vs.save.Disabled() {
				t.Errorf("%q: name error %q (visible %v), save disabled %v", tc.name, vs.nameErr.Text, vs.nameErr.Visible(), vs.save.Disabled())
			}
		}
		typeInto(vs.name, "GREETING")
		vs.value.SetText(strings.Repeat("x", 5<<10+1)) // typed, 5 KiB takes seconds
		if !vs.valueErr.Visible() || !strings.Contains(vs.valueErr.Text, "at most 5120 bytes") || vs.nameErr.Visible() || !vs.save.Disabled() {
			t.Errorf("long value: %q, save disabled %v", vs.valueErr.Text, vs.save.Disabled())
		}
	})

	t.Run("add a variable", func(t *testing.T) {
		typeInto(vs.name, "GREETING")
		typeInto(vs.value, "hello")
		test.Tap(vs.save)
		h.wait()
		if got := runOnce(); got != "hello|" {
			t.Errorf("script sees %q", got)
		}
		if !strings.Contains(varLabels(vs), "GREETING | hello") || vs.name.Text != "" || vs.msg.Importance != widget.SuccessImportance {
			t.Errorf("list %q, name %q, msg %q", varLabels(vs), vs.name.Text, vs.msg.Text)
		}
	})

	t.Run("add a secret", func(t *testing.T) {
		typeInto(vs.name, "TOKEN")
		test.Tap(vs.secret)
		if !vs.value.Password {
			t.Error("a secret's value is typed in the clear")
		}
		typeInto(vs.value, "s3cr3t-value")
		test.Tap(vs.save)
		h.wait()
		if got := runOnce(); got != "hello|s3cr3t-value" {
			t.Errorf("script sees %q", got)
		}
		if l := varLabels(vs); strings.Contains(l, "s3cr3t") || !strings.Contains(l, "TOKEN | secret · set") {
			t.Errorf("list %q", l)
		}
		if vs.count.Text != "2 of 128 variables and secrets" {
			t.Errorf("count %q", vs.count.Text)
		}
	})

	t.Run("replace a secret without seeing it", func(t *testing.T) {
		tapRowButton(t, vs, "TOKEN", "Edit")
		if vs.value.Text != "" || !vs.name.Disabled() || !vs.secret.Checked || vs.save.Text != "Replace" {
			t.Fatalf("editing a secret: value %q, name disabled %v, secret %v, button %q", vs.value.Text, vs.name.Disabled(), vs.secret.Checked, vs.save.Text)
		}
		typeInto(vs.value, "rotated")
		test.Tap(vs.save)
		h.wait()
		if got := runOnce(); got != "hello|rotated" {
			t.Errorf("script sees %q", got)
		}
		env, _ := h.node.Client.Env(h.ctx(), "shop")
		if len(env) != 2 || !env[1].Secret || env[1].Value != nil {
			t.Errorf("on the node: %+v", env)
		}
	})

	t.Run("edit a variable", func(t *testing.T) {
		tapRowButton(t, vs, "GREETING", "Edit")
		if vs.value.Text != "hello" || vs.secret.Checked {
			t.Fatalf("editing: value %q secret %v", vs.value.Text, vs.secret.Checked)
		}
		typeInto(vs.value, "bonjour")
		test.Tap(vs.save)
		h.wait()
		if got := runOnce(); got != "bonjour|rotated" {
			t.Errorf("script sees %q", got)
		}
	})

	t.Run("the node's error lands on its field", func(t *testing.T) {
		for i := 0; i < shared.MaxEnvEntries-2; i++ {
			value := "x"
			if _, err := h.node.Client.PutEnv(h.ctx(), "shop", "F"+strings.Repeat("A", i%60)+string(rune('A'+i/60)), shared.PutEnvRequest{Value: &value}); err != nil {
				t.Fatal(err)
			}
		}
		vs.reload()
		h.wait()
		typeInto(vs.name, "ONE_TOO_MANY")
		typeInto(vs.value, "x")
		test.Tap(vs.save)
		h.wait()
		if !vs.nameErr.Visible() || !strings.Contains(vs.nameErr.Text, "at most 128") {
			t.Errorf("the 129th: name error %q (visible %v), msg %q", vs.nameErr.Text, vs.nameErr.Visible(), vs.msg.Text)
		}
	})

	t.Run("delete", func(t *testing.T) {
		vs.resetForm()
		tapRowButton(t, vs, "TOKEN", "Delete")
		test.Tap(h.button("Yes"))
		h.wait()
		if got := runOnce(); got != "bonjour|" {
			t.Errorf("script sees %q", got)
		}
		if strings.Contains(varLabels(vs), "TOKEN") {
			t.Errorf("list %q", varLabels(vs))
		}
	})
}

// The Run panel names the env variables the script reads that the app
// lacks, and the note goes once they are set.
func TestRunPanelNamesMissingVariables(t *testing.T) {
	h := paired(t)
	h.createApp("Hooks", "hooks")
	sc := h.createScript("hooks", "hook", `async function handle(req, e) { const { SIGNING_KEY } = e; return e.API_URL + e["REGION"] + SIGNING_KEY + (e.KV ? 1 : 0) }`)
	value := "x"
	if _, err := h.node.Client.PutEnv(h.ctx(), "hooks", "REGION", shared.PutEnvRequest{Value: &value}); err != nil {
		t.Fatal(err)
	}
	v := h.openApp("hooks")
	d := h.openScript(v, sc.ID)
	h.wait()
	note := d.run.envNote
	if !note.Visible() || note.Text != "This script reads env.API_URL and env.SIGNING_KEY, which app “Hooks” does not have: they are undefined. Add them under Settings › Variables." {
		t.Fatalf("note %q (visible %v)", note.Text, note.Visible())
	}
	for _, k := range []string{"API_URL", "SIGNING_KEY"} {
		if _, err := h.node.Client.PutEnv(h.ctx(), "hooks", k, shared.PutEnvRequest{Value: &value}); err != nil {
			t.Fatal(err)
		}
	}
	test.Tap(h.button("Run"))
	h.wait()
	if note.Visible() {
		t.Errorf("note still shown: %q", note.Text)
	}
}

func TestEnvNamesRead(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`function handle(req, env) { return env.A + env["B_2"] + env['C'] }`, "A,B_2,C"},
		{`const handle = async (req, vars) => vars.TOKEN`, "TOKEN"},
		{`export default { handle: function (r, x) { return x.ONE } }`, "ONE"},
		{`function scheduled(event, env) { const { A, B: b, C = 1 } = env; return env.KV }`, "A,B,C"},
		{`function handle(req) { return req.env.lower + environment.X }`, ""},
		{`function handle(req, env) { return env.toString() }`, ""},
	} {
		if got := strings.Join(envNamesRead(tc.src), ","); got != tc.want {
			t.Errorf("envNamesRead(%s) = %q, want %q", tc.src, got, tc.want)
		}
	}
}

func varLabels(vs *varsSection) string {
	var out []string
	for _, o := range test.LaidOutObjects(vs.list) {
		if l, ok := o.(*widget.Label); ok {
			out = append(out, l.Text)
		}
	}
	return strings.Join(out, " | ")
}

// tapRowButton taps the button labelled text in the row of entry name.
func tapRowButton(t *testing.T, vs *varsSection, name, text string) {
	t.Helper()
	for _, row := range vs.list.Objects {
		objs := test.LaidOutObjects(row)
		found := false
		for _, o := range objs {
			if l, ok := o.(*widget.Label); ok && l.Text == name {
				found = true
			}
		}
		if !found {
			continue
		}
		for _, o := range objs {
			if b, ok := o.(*widget.Button); ok && b.Text == text {
				test.Tap(b)
				return
			}
		}
	}
	t.Fatalf("no %q button in the row of %s", text, name)
}
