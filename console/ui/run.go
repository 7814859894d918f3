package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/picloud/picloud/shared"
)

// anyPath is the Run panel's route choice for a path typed by hand.
const anyPath = "Any path (no route)"

// runPanel is a test request: a route of the script (its parameters typed
// into fields, bound by the node as the data plane would) or a typed path,
// method, query, headers and body; and the answer with its headers.
type runPanel struct {
	s       *scriptDetail
	route   *widget.Select
	routes  []shared.Route // the script's routes, in the select's order
	chosen  *shared.Route  // nil: any path
	form    *widget.Form   // Route, the route's parameters, Request, Query, ...
	fields  []paramField
	method  *widget.Select
	path    *widget.Entry
	query   *widget.Entry
	headers *widget.Entry
	body    *widget.Entry
	status  *widget.Label
	resp    *widget.Label // the body, JSON pretty-printed
	respHdr *widget.Label
	output  *widget.Label
	// envNote names the env variables the script reads that its app
	// lacks (vars.go); hidden when there are none.
	envNote *widget.Label
	copied  *widget.Label
	last    execution
}

// paramField is one parameter of the chosen route's pattern.
type paramField struct {
	name     string
	catchAll bool // *rest takes the rest of the path, slashes included
	entry    *widget.Entry
}

// runView: execute the script with a request and show what it answered.
func (s *scriptDetail) runView(routes []shared.Route) fyne.CanvasObject {
	r := &runPanel{s: s}
	s.run = r
	r.route = widget.NewSelect(nil, r.choose)
	r.method = widget.NewSelect([]string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}, nil)
	r.method.SetSelected("GET")
	r.path = widget.NewEntry()
	r.path.SetPlaceHolder("/path, e.g. /hello")
	r.query = widget.NewEntry()
	r.query.SetPlaceHolder("query, e.g. name=pi&n=3")
	r.headers = widget.NewMultiLineEntry()
	r.headers.SetPlaceHolder("headers, one per line: Accept: application/json")
	r.headers.SetMinRowsVisible(2)
	r.body = widget.NewMultiLineEntry()
	r.body.SetPlaceHolder("request body (optional)")
	r.body.SetMinRowsVisible(3)
	mono := func() *widget.Label {
		l := widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
		l.Wrapping = fyne.TextWrapBreak
		l.Selectable = true
		return l
	}
	r.status = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	r.resp, r.respHdr, r.output = mono(), mono(), mono()
	r.copied = newMsg()
	btn := widget.NewButtonWithIcon("Run", theme.MediaPlayIcon(), r.execute)
	btn.Importance = widget.HighImportance
	curl := widget.NewButtonWithIcon("Copy as curl", theme.ContentCopyIcon(), func() { r.copy("curl command", r.curl()) })
	copyBody := widget.NewButtonWithIcon("Copy body", theme.ContentCopyIcon(), func() { r.copy("response body", r.resp.Text) })
	copyHdr := widget.NewButtonWithIcon("Copy headers", theme.ContentCopyIcon(), func() { r.copy("response headers", r.respHdr.Text) })
	for _, b := range []*widget.Button{copyBody, copyHdr} {
		b.Importance = widget.LowImportance
	}
	note := widget.NewLabel("Runs the saved version, as the data plane would; no domain needed. Pick a route to fill req.params.")
	note.Wrapping = fyne.TextWrapWord
	r.envNote = newMsg()
	r.form = widget.NewForm()
	for _, e := range []*widget.Entry{r.path, r.query} {
		e.OnSubmitted = func(string) { r.execute() } // Enter runs, as in every form
	}
	r.setRoutes(routes)
	r.layoutForm()
	return container.NewVScroll(container.NewVBox(note, r.envNote, r.form,
		container.NewHBox(btn, curl), r.copied, r.status,
		container.NewBorder(nil, nil, bold("Body"), copyBody), r.resp,
		container.NewBorder(nil, nil, bold("Response headers"), copyHdr), r.respHdr,
		bold("Console output"), r.output))
}

// setRoutes offers the script's routes, keeping the choice if it remains.
func (r *runPanel) setRoutes(all []shared.Route) {
	var mine []shared.Route
	for _, rt := range all {
		if rt.ScriptID == r.s.script.ID {
			mine = append(mine, rt)
		}
	}
	r.routes = mine
	opts := []string{anyPath}
	keep := anyPath
	for _, rt := range mine {
		opts = append(opts, runRouteText(rt))
		if r.chosen != nil && rt.ID == r.chosen.ID {
			keep = runRouteText(rt)
		}
	}
	r.route.Options = opts
	if r.route.Selected != keep {
		r.route.SetSelected(keep)
	}
	r.route.Refresh()
}

func runRouteText(rt shared.Route) string {
	s := rt.Method + " " + rt.Path
	if rt.Host != nil {
		s += "  (" + *rt.Host + ")"
	}
	return s
}

// choose shows the parameters of the route picked, or frees the path.
func (r *runPanel) choose(label string) {
	r.chosen = nil
	for i, rt := range r.routes {
		if runRouteText(rt) == label {
			r.chosen = &r.routes[i]
		}
	}
	r.fields = nil
	defer r.layoutForm()
	if r.chosen == nil {
		r.path.Enable()
		return
	}
	if r.chosen.Method != shared.MethodAny {
		r.method.SetSelected(r.chosen.Method)
	}
	for _, seg := range strings.Split(r.chosen.Path, "/") {
		if seg == "" || (seg[0] != ':' && seg[0] != '*') {
			continue
		}
		f := paramField{name: seg[1:], catchAll: seg[0] == '*', entry: widget.NewEntry()}
		f.entry.SetPlaceHolder("req.params." + f.name)
		f.entry.OnChanged = func(string) { r.path.SetText(r.boundPath()) }
		f.entry.OnSubmitted = func(string) { r.execute() }
		r.fields = append(r.fields, f)
	}
	r.path.SetText(r.boundPath())
	r.path.Disable() // the route's pattern and its fields make the path
}

// layoutForm lists the request's fields, the chosen route's parameters
// right under it.
func (r *runPanel) layoutForm() {
	if r.form == nil {
		return
	}
	items := []*widget.FormItem{widget.NewFormItem("Route", r.route)}
	for _, f := range r.fields {
		items = append(items, widget.NewFormItem(":"+f.name, f.entry))
	}
	items = append(items,
		widget.NewFormItem("Request", container.NewBorder(nil, nil, r.method, nil, r.path)),
		widget.NewFormItem("Query", r.query),
		widget.NewFormItem("Headers", r.headers),
		widget.NewFormItem("Body", r.body))
	r.form.Items = items
	r.form.Refresh()
}

// boundPath is the chosen route's pattern with the fields' values.
func (r *runPanel) boundPath() string {
	segs := strings.Split(r.chosen.Path, "/")
	i := 0
	for k, seg := range segs {
		if seg == "" || (seg[0] != ':' && seg[0] != '*') {
			continue
		}
		v := r.fields[i].entry.Text
		i++
		if r.fields[i-1].catchAll {
			segs[k] = strings.TrimPrefix(v, "/")
			continue
		}
		segs[k] = url.PathEscape(v)
	}
	return strings.Join(segs, "/")
}

// request is the test request as typed, or why it cannot be sent.
func (r *runPanel) request() (shared.ExecuteRequest, error) {
	q, err := url.ParseQuery(strings.TrimPrefix(strings.TrimSpace(r.query.Text), "?"))
	if err != nil {
		return shared.ExecuteRequest{}, fmt.Errorf("the query is not valid: %w", err)
	}
	hdr, err := parseHeaders(r.headers.Text)
	if err != nil {
		return shared.ExecuteRequest{}, err
	}
	path, err := url.PathUnescape(strings.TrimSpace(r.path.Text))
	if err != nil {
		return shared.ExecuteRequest{}, fmt.Errorf("the path is not valid: %w", err)
	}
	if path != "" && path[0] != '/' {
		path = "/" + path
	}
	req := shared.ExecuteRequest{Method: r.method.Selected, Path: path, Query: q, Header: hdr, Body: []byte(r.body.Text)}
	if r.chosen != nil {
		for _, f := range r.fields {
			if strings.TrimSpace(f.entry.Text) == "" && !f.catchAll {
				return req, fmt.Errorf("type a value for :%s", f.name)
			}
		}
		req.RouteID = r.chosen.ID
	}
	return req, nil
}

// parseHeaders reads "Name: value" lines; blank lines are skipped.
func parseHeaders(text string) (http.Header, error) {
	h := http.Header{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("header line %d is not “Name: value”", i+1)
		}
		h.Add(name, strings.TrimSpace(value))
	}
	return h, nil
}

func (r *runPanel) execute() {
	s := r.s
	v := s.t.v
	id := s.script.ID
	req, err := r.request()
	if err != nil {
		r.status.SetText(err.Error())
		return
	}
	r.status.SetText("running…")
	showMsg(r.copied, "", widget.SuccessImportance) // it spoke of the answer this run replaces
	s.checkEnv()                                    // the app's variables may have changed since
	callWithin(v.tasks, runTimeout, "run script", func(ctx context.Context) (execution, error) {
		return runScript(ctx, v, id, req)
	}, r.show, func(err error) bool {
		r.status.SetText(Message(err))
		return false
	})
}

func (r *runPanel) show(x execution) {
	r.last = x
	r.status.SetText(fmt.Sprintf("%d %s · %s", x.status, http.StatusText(x.status), x.duration))
	r.resp.SetText(prettyBody(x.header.Get("Content-Type"), x.body))
	r.respHdr.SetText(headerText(x.header))
	out := x.output
	if x.logErr != "" {
		out += "\n" + x.logErr
	}
	if out == "" {
		out = "(none)"
	}
	r.output.SetText(out)
}

// prettyBody indents a JSON body (by its type, or by its looks when the
// script set none); anything else is shown as it came.
func prettyBody(contentType, body string) string {
	trimmed := strings.TrimSpace(body)
	looksJSON := strings.Contains(contentType, "json") ||
		(contentType == "" || strings.HasPrefix(contentType, "text/plain")) && (strings.HasPrefix(trimmed, "{") || strings.HasPrefix(trimmed, "["))
	if !looksJSON {
		return body
	}
	var b bytes.Buffer
	if json.Indent(&b, []byte(trimmed), "", "  ") != nil {
		return body
	}
	return b.String()
}

// headerText lists headers as "Name: value" lines, sorted; the transport's
// own (Date, Content-Length) are left out as they say nothing of the script.
func headerText(h http.Header) string {
	names := make([]string, 0, len(h))
	for k := range h {
		if k != "Date" && k != "Content-Length" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		for _, v := range h[k] {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func (r *runPanel) copy(what, text string) {
	fyne.CurrentApp().Clipboard().SetContent(text)
	showMsg(r.copied, "Copied the "+what+".", widget.SuccessImportance)
}

// curl is the test request as a command: against the data plane with the
// route's host when the chosen route answers on a domain, else against
// the node's execute endpoint with the admin token from the environment
// (never the token itself, which would end up in shell history).
func (r *runPanel) curl() string {
	req, _ := r.request()
	e := r.s.t.v.nv.entry
	host, _, err := net.SplitHostPort(e.Address)
	if err != nil {
		host = e.Address
	}
	var parts []string
	target := ""
	path := (&url.URL{Path: req.Path}).EscapedPath()
	if dom := r.routeHost(); dom != "" {
		target = "http://" + hostForURL(host) + e.DataHostPort() + path
		parts = append(parts, "-H "+shellQuote("Host: "+dom))
	} else {
		target = e.Scheme + "://" + e.Address + shared.PathExecute + fmt.Sprint(r.s.script.ID) + path
		parts = append(parts, `-H "Authorization: Bearer $PICLOUD_TOKEN"`)
		if req.RouteID != 0 {
			parts = append(parts, "-H "+shellQuote(shared.ExecuteRouteHeader+": "+fmt.Sprint(req.RouteID)))
		}
		if e.Scheme == "https" {
			parts = append(parts, "-k") // the node's certificate is self-signed and pinned by id
		}
	}
	if len(req.Query) > 0 {
		target += "?" + req.Query.Encode()
	}
	names := make([]string, 0, len(req.Header))
	for k := range req.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range req.Header[k] {
			parts = append(parts, "-H "+shellQuote(k+": "+v))
		}
	}
	if len(req.Body) > 0 {
		parts = append(parts, "--data-binary "+shellQuote(string(req.Body)))
	}
	return "curl -X " + req.Method + " " + strings.Join(parts, " ") + " " + shellQuote(target)
}

// routeHost is a host the chosen route answers on from outside: its own,
// or the app's first exact (non-wildcard) claim; "" when there is none.
func (r *runPanel) routeHost() string {
	if r.chosen == nil {
		return ""
	}
	if r.chosen.Host != nil {
		return *r.chosen.Host
	}
	for _, d := range r.s.domains {
		if !strings.HasPrefix(d.Pattern, "*") {
			return d.Pattern
		}
	}
	return ""
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// execution is what Run shows: the response, and the console output from
// the execution's log entry.
type execution struct {
	status   int
	header   http.Header
	body     string
	output   string
	logErr   string
	duration string
}

// runScript executes the script and then finds its log entry (written
// asynchronously by the node) for the console output.
func runScript(ctx context.Context, v *appView, id int64, req shared.ExecuteRequest) (execution, error) {
	cl := v.client
	prev, err := cl.Logs(ctx, v.ref, id, 1, 0)
	if err != nil {
		return execution{}, err
	}
	var after int64
	if len(prev) > 0 {
		after = prev[0].ID
	}
	res, err := cl.Execute(ctx, id, req)
	if err != nil && res.Status == 0 {
		return execution{}, err // no answer at all; script faults still have one
	}
	if e, ok := shared.AsError(err); ok && e.Code == shared.CodeNoRoute && req.RouteID != 0 {
		return execution{}, err // the path does not fit the route: nothing ran
	}
	x := execution{status: res.Status, header: res.Header, body: string(res.Body)}
	for range 100 { // up to 5 s: the node writes logs in batches
		logs, err := cl.Logs(ctx, v.ref, id, 1, 0)
		if err != nil {
			return x, err
		}
		if len(logs) > 0 && logs[0].ID > after {
			x.output, x.logErr, x.duration = logs[0].Output, logs[0].Error, formatDuration(logs[0].DurationUS)
			return x, nil
		}
		select {
		case <-ctx.Done():
			return x, nil
		case <-time.After(50 * time.Millisecond):
		}
	}
	x.output = "(the node has not logged this execution yet)"
	return x, nil
}
