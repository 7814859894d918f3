package ui

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/picloud/picloud/shared"
)

// routesView: the script's routes with add/remove, and the preview of the
// URLs it answers on.
func (s *scriptDetail) routesView() fyne.CanvasObject {
	s.routes = container.NewVBox()
	s.preview = container.NewVBox()
	s.method = widget.NewSelectEntry([]string{shared.MethodAny, "GET", "POST", "PUT", "PATCH", "DELETE"})
	s.method.SetText("GET")
	s.path = widget.NewEntry()
	s.path.SetPlaceHolder("/path or /users/:id")
	s.host = widget.NewEntry()
	s.host.SetPlaceHolder("host (optional: every claimed host)")
	s.routeMsg = newMsg()
	add := widget.NewButtonWithIcon("Add route", theme.ContentAddIcon(), s.addRoute)
	method := container.NewGridWrap(fyne.NewSize(130, s.method.MinSize().Height), s.method)
	form := container.NewVBox(container.NewBorder(nil, nil, method, add, s.path), s.host, s.routeMsg)
	s.portNote = newMsg()
	s.portNote.TextStyle.Italic = true
	return container.NewVScroll(container.NewVBox(bold("Routes"), s.routes, form, widget.NewSeparator(),
		bold("Answers on"), s.preview, s.portNote))
}

func (s *scriptDetail) renderRoutes(all []shared.Route, domains []shared.Domain) {
	s.domains = domains
	s.run.setRoutes(all)
	var mine []shared.Route
	for _, r := range all {
		if r.ScriptID == s.script.ID {
			mine = append(mine, r)
		}
	}
	objs := []fyne.CanvasObject{}
	for _, r := range mine {
		r := r
		rm := widget.NewButtonWithIcon("", theme.DeleteIcon(), func() {
			s.t.v.confirm("Remove route "+routeText(r)+"?", "Requests to it get 404 from the next request on.", func() { s.removeRoute(r) })
		})
		rm.Importance = widget.LowImportance
		objs = append(objs, container.NewBorder(nil, nil, nil, rm,
			widget.NewLabelWithStyle(routeText(r), fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})))
	}
	if len(objs) == 0 {
		objs = append(objs, widget.NewLabel("No routes: the script runs only through Run."))
	}
	s.routes.Objects = objs
	s.routes.Refresh()

	e := s.t.v.nv.entry
	urls := previewURLs(mine, domains, e.DataHostPort())
	if e.DataPort == 0 {
		showMsg(s.portNote, "The node did not announce its data port here; the URLs assume the default 8080.", widget.MediumImportance)
	} else {
		showMsg(s.portNote, "", widget.MediumImportance)
	}
	prev := []fyne.CanvasObject{}
	for _, u := range urls {
		prev = append(prev, previewLink(u))
	}
	if len(prev) == 0 {
		msg := "Nothing yet: the script needs a route, and the app a domain."
		if len(mine) > 0 {
			msg = "Nothing yet: the app claims no domain (add one in the Domains tab)."
		}
		prev = append(prev, widget.NewLabel(msg))
	}
	s.preview.Objects = prev
	s.preview.Refresh()
}

// previewLink shows "GET http://host/path" as a link a click opens in the
// browser when a browser can ask for it as is (GET, one host, no :param
// or *rest to fill in); else as text.
func previewLink(line string) fyne.CanvasObject {
	method, raw, _ := strings.Cut(line, " ")
	u, err := url.Parse(raw)
	if err == nil && (method == "GET" || method == shared.MethodAny) && !strings.Contains(u.Host, "*") &&
		!strings.ContainsAny(u.Path, ":*") {
		l := widget.NewHyperlink(line, u)
		l.TextStyle = fyne.TextStyle{Monospace: true}
		l.Truncation = fyne.TextTruncateEllipsis
		return l
	}
	l := widget.NewLabelWithStyle(line, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	l.Truncation = fyne.TextTruncateEllipsis
	return l
}

// PreviewURLs returns the route preview as shown.
func (s *scriptDetail) PreviewURLs() []string {
	var out []string
	for _, o := range s.preview.Objects {
		switch l := o.(type) {
		case *widget.Label:
			if strings.Contains(l.Text, "://") {
				out = append(out, l.Text)
			}
		case *widget.Hyperlink:
			out = append(out, l.Text)
		}
	}
	return out
}

func routeText(r shared.Route) string {
	host := "every claimed host"
	if r.Host != nil {
		host = *r.Host
	}
	return fmt.Sprintf("%-6s %s   (%s)", r.Method, r.Path, host)
}

// previewURLs lists, for each route, one URL per claim of the app that the
// route answers on: a host-less route on every claim, a route with a host
// on that host only. dataPort is ":port" of the data plane, or "".
func previewURLs(routes []shared.Route, domains []shared.Domain, dataPort string) []string {
	var out []string
	for _, r := range routes {
		prefix := r.Method + " "
		if r.Host != nil {
			out = append(out, prefix+"http://"+hostForURL(*r.Host)+dataPort+r.Path)
			continue
		}
		for _, d := range domains {
			out = append(out, prefix+"http://"+hostForURL(d.Pattern)+dataPort+r.Path)
		}
	}
	return out
}

// hostForURL writes an IPv6 literal in brackets; other hosts (including
// *.wildcards, shown as such) as they are.
func hostForURL(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

func (s *scriptDetail) addRoute() {
	v := s.t.v
	req := shared.CreateRouteRequest{ScriptID: s.script.ID, Method: strings.TrimSpace(s.method.Text), Path: strings.TrimSpace(s.path.Text)}
	if h := strings.TrimSpace(s.host.Text); h != "" {
		req.Host = &h
	}
	if req.Method == "" {
		req.Method = shared.MethodAny
	}
	call(v.tasks, "add route", func(ctx context.Context) (shared.Route, error) {
		return v.client.CreateRoute(ctx, v.ref, req)
	}, func(r shared.Route) {
		s.path.SetText("")
		s.host.SetText("")
		s.setRouteMsg("Added "+routeText(r)+".", widget.SuccessImportance)
		s.reload()
	}, func(err error) bool {
		s.setRouteMsg(routeError(err), widget.DangerImportance)
		return true
	})
}

func (s *scriptDetail) removeRoute(r shared.Route) {
	v := s.t.v
	call(v.tasks, "remove route", func(ctx context.Context) (struct{}, error) {
		return struct{}{}, v.client.DeleteRoute(ctx, v.ref, r.ID)
	}, func(struct{}) {
		s.setRouteMsg("Removed "+routeText(r)+".", widget.SuccessImportance)
		s.reload()
	}, func(err error) bool {
		s.setRouteMsg(Message(err), widget.DangerImportance)
		return true
	})
}

func (s *scriptDetail) setRouteMsg(msg string, imp widget.Importance) {
	showMsg(s.routeMsg, msg, imp)
}

func routeError(err error) string {
	e, ok := shared.AsError(err)
	if !ok {
		return Message(err)
	}
	switch e.Code {
	case shared.CodeHostNotClaimed:
		return e.Message + " — claim it (or a wildcard covering it) in the Domains tab first."
	case shared.CodeRouteConflict:
		return "Conflicts with an existing route: " + e.Message
	}
	return Message(err)
}
