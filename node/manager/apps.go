package manager

import (
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/julienschmidt/httprouter"

	"github.com/picloud/picloud/shared"
)

const (
	maxNameLen        = 200
	maxDescriptionLen = 4000
)

// appFromURL finds the app the {app} segment of the URL names (id or current
// slug). When it names an old slug, the error is a redirect to the same URL
// with the current slug.
func (a *API) appFromURL(r *http.Request, ps httprouter.Params) (shared.App, error) {
	ref := ps.ByName("app")
	app, err := a.store.App(r.Context(), ref)
	if !shared.IsCode(err, shared.CodeNotFound) {
		return app, err
	}
	cur, herr := a.store.AppByOldSlug(r.Context(), ref)
	if herr != nil {
		return app, err // the original 404 names what was asked for
	}
	prefix := shared.PathApps + "/"
	rest := strings.TrimPrefix(r.URL.Path, prefix+ref)
	return app, redirect(prefix+cur.Slug+rest, r.URL.Query())
}

// movedTo is a request naming an app by an old slug. Lookups return it as
// their error, so the handler stops; the edge answers 308 (method and body
// are kept) with Location.
type movedTo struct{ location string }

func (m *movedTo) Error() string { return "moved to " + m.location }

// redirect is the movedTo of path with query.
func redirect(path string, q url.Values) error {
	u := url.URL{Path: path, RawQuery: q.Encode()}
	return &movedTo{location: u.String()}
}

func (a *API) listApps(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	apps, err := a.store.ListApps(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"apps": apps})
}

func (a *API) getApp(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	app, err := a.appFromURL(r, ps)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, app)
}

// createAppRequest is shared.CreateAppRequest as the manager reads it:
// an explicit slug, even "", is validated (SPEC §3); only an absent one is
// derived from the name.
type createAppRequest struct {
	Name         string  `json:"name"`
	Slug         *string `json:"slug"`
	Description  string  `json:"description"`
	ConfirmToken string  `json:"confirm_token"`
}

func (a *API) createApp(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	var req createAppRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := checkTexts(&req.Name, maxNameLen, &req.Description); err != nil {
		return err
	}
	slug := shared.DeriveSlug(req.Name)
	if req.Slug != nil {
		slug = *req.Slug
	}
	if err := shared.ValidateSlug(slug); err != nil {
		return err
	}
	takeover, giveBack := a.confirms.take(req.ConfirmToken, 0, slug)
	app, err := writeAs[shared.App](r.Context(), a, &Command{Op: OpCreateApp,
		App: &shared.App{Slug: slug, Name: req.Name, Description: req.Description}, Takeover: takeover})
	if err != nil {
		giveBack()
		return a.offerTakeover(err, 0, slug)
	}
	return writeJSON(w, http.StatusCreated, app)
}

func (a *API) updateApp(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	app, err := a.appFromURL(r, ps)
	if err != nil {
		return err
	}
	var req shared.UpdateAppRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := checkTexts(req.Name, maxNameLen, req.Description); err != nil {
		return err
	}
	takeover, giveBack := false, func() {}
	if req.Slug != nil && *req.Slug != app.Slug {
		if err := shared.ValidateSlug(*req.Slug); err != nil {
			return err
		}
		takeover, giveBack = a.confirms.take(req.ConfirmToken, app.ID, *req.Slug)
	}
	updated, err := writeAs[shared.App](r.Context(), a, &Command{Op: OpUpdateApp, ID: app.ID, AppUpdate: &req, Takeover: takeover})
	if err != nil {
		giveBack()
		if req.Slug != nil {
			err = a.offerTakeover(err, app.ID, *req.Slug)
		}
		return err
	}
	return writeJSON(w, http.StatusOK, updated)
}

// offerTakeover adds a fresh confirm token to a 409 slug_reserved, so the
// second step of the takeover can follow without another check. Taking the
// slug still needs that second, explicit request.
func (a *API) offerTakeover(err error, appID int64, slug string) error {
	e, ok := shared.AsError(err)
	if !ok || e.Code != shared.CodeSlugReserved {
		return err
	}
	return e.With("confirm_token", a.confirms.issue(appID, slug))
}

func (a *API) deleteApp(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	app, err := a.appFromURL(r, ps)
	if err != nil {
		return err
	}
	if _, err := a.write(r.Context(), &Command{Op: OpDeleteApp, ID: app.ID}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) checkSlug(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	if ps.ByName("check") != ":check" {
		return shared.Errorf(shared.CodeNotFound, "no such endpoint: %s", r.URL.Path)
	}
	app, err := a.appFromURL(r, ps)
	if err != nil {
		return err
	}
	var req shared.SlugCheckRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	out := shared.SlugCheck{Slug: req.Slug}
	if err := shared.ValidateSlug(req.Slug); err != nil {
		e, _ := shared.AsError(err)
		out.Status, out.Message = shared.SlugInvalid, e.Message
		return writeJSON(w, http.StatusOK, out)
	}
	status, heldBy, err := a.store.SlugStatus(r.Context(), app.ID, req.Slug)
	if err != nil {
		return err
	}
	out.Status, out.HeldBy = status, heldBy
	if status == shared.SlugReserved {
		out.ConfirmToken = a.confirms.issue(app.ID, req.Slug)
	}
	return writeJSON(w, http.StatusOK, out)
}

// checkTexts trims and checks, in place, a name of at most maxName
// characters and a description; a nil one is a field a PATCH leaves alone.
func checkTexts(name *string, maxName int, desc *string) error {
	if name != nil {
		s, err := checkText("name", *name, maxName, true)
		if err != nil {
			return err
		}
		*name = s
	}
	if desc != nil {
		s, err := checkText("description", *desc, maxDescriptionLen, false)
		if err != nil {
			return err
		}
		*desc = s
	}
	return nil
}

// checkText trims s and checks it is at most max characters without
// control characters (and not empty when required). Failures are 422
// validation_failed on field.
func checkText(field, s string, max int, required bool) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case required && s == "":
		return "", shared.Validation(field, "%s must not be empty", field)
	case !utf8.ValidString(s):
		return "", shared.Validation(field, "%s is not valid UTF-8", field)
	case utf8.RuneCountInString(s) > max:
		return "", shared.Validation(field, "%s is longer than %d characters", field, max)
	}
	for _, c := range s {
		if unicode.IsControl(c) && (field != "description" || (c != '\n' && c != '\t' && c != '\r')) {
			return "", shared.Validation(field, "%s contains a control character", field)
		}
		if field == "name" && shared.IsBidiControl(c) {
			return "", shared.Validation(field, "%s contains a bidirectional-override character (U+%04X)", field, c)
		}
	}
	return s, nil
}
