package manager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"reflect"
	"slices"

	"github.com/julienschmidt/httprouter"

	"github.com/picloud/picloud/node/executor"
	"github.com/picloud/picloud/node/store"
	"github.com/picloud/picloud/shared"
)

// MaxImportBytes bounds an import body: the default KV quota plus 16 MiB
// (SPEC §11).
const MaxImportBytes = 64<<20 + 16<<20

// ImportStore creates an imported app in one transaction.
type ImportStore interface {
	ImportApp(ctx context.Context, p store.ImportPlan) (shared.App, error)
}

func (a *API) exportApp(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	app, err := a.appFromURL(r, ps)
	if err != nil {
		return err
	}
	withKV := false
	switch v := r.URL.Query().Get("kv"); v {
	case "", "false":
	case "true":
		withKV = true
	default:
		return shared.Validation("kv", `kv must be "true" or "false", not %q`, v)
	}
	doc, err := a.export(r.Context(), app, withKV)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.picloud.json"`, app.Slug))
	return writeJSON(w, http.StatusOK, doc)
}

func (a *API) export(ctx context.Context, app shared.App, withKV bool) (shared.Export, error) {
	ctx = context.WithoutCancel(ctx)
	doc := shared.Export{Format: shared.ExportFormat, App: shared.ExportApp{Slug: app.Slug, Name: app.Name, Description: app.Description},
		Domains: []string{}, Scripts: []shared.ExportScript{}, Routes: []shared.ExportRoute{}, Schedules: []shared.ExportSchedule{},
		Env: []shared.ExportEnv{}}
	for _, d := range app.Domains {
		doc.Domains = append(doc.Domains, d.Pattern)
	}
	scripts, err := a.store.Scripts(ctx, app.ID)
	if err != nil {
		return doc, err
	}
	names := map[int64]string{}
	for _, s := range scripts {
		names[s.ID] = s.Name
		doc.Scripts = append(doc.Scripts, shared.ExportScript{Name: s.Name, Source: s.Source, Sandbox: s.Sandbox, Description: s.Description})
	}
	routes, err := a.store.Routes(ctx, app.ID)
	if err != nil {
		return doc, err
	}
	for _, rt := range routes {
		doc.Routes = append(doc.Routes, shared.ExportRoute{Script: names[rt.ScriptID], Method: rt.Method, Path: rt.Path, Host: rt.Host})
	}
	schedules, err := a.store.AppSchedules(ctx, app.ID)
	if err != nil {
		return doc, err
	}
	for _, s := range schedules {
		doc.Schedules = append(doc.Schedules, shared.ExportSchedule{Script: names[s.ScriptID], Cron: s.Cron, Timezone: s.Timezone})
	}
	if doc.Egress, err = a.store.Egress(ctx, app.ID); err != nil {
		return doc, err
	}
	env, err := a.store.Env(ctx, app.ID)
	if err != nil {
		return doc, err
	}
	for _, e := range env {
		x := shared.ExportEnv{Name: e.Name, Secret: e.Secret}
		if !e.Secret {
			x.Value = e.Value
		}
		doc.Env = append(doc.Env, x)
	}
	if withKV {
		doc.KV, err = a.exportKV(ctx, app.ID)
	}
	return doc, err
}

// exportKV reads every live entry of the app, a page at a time.
func (a *API) exportKV(ctx context.Context, appID int64) ([]shared.ExportKV, error) {
	out := []shared.ExportKV{}
	if a.kv == nil {
		return out, nil
	}
	for q := (shared.KVListQuery{Limit: 1000}); ; {
		page, err := a.kv.KVList(ctx, appID, q)
		if err != nil {
			return nil, err
		}
		for _, k := range page.Keys {
			v, err := a.kv.KVGet(ctx, appID, k.Name)
			if shared.IsCode(err, shared.CodeNotFound) {
				continue // expired or deleted since the listing
			}
			if err != nil {
				return nil, err
			}
			out = append(out, shared.ExportKV{Key: k.Name, Value: string(v.Value), Metadata: v.Metadata, Expiration: k.Expiration})
		}
		if page.ListComplete || page.Cursor == "" {
			return out, nil
		}
		q.Cursor = page.Cursor
	}
}

// withImport dispatches POST /apps:import before the router, which reads
// ":import" as a parameter clashing with /apps/:app.
func (a *API) withImport(next http.Handler) http.Handler {
	a.endpoints = append(a.endpoints, Endpoint{Method: http.MethodPost, Path: shared.PathImport})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != shared.PathImport {
			next.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, shared.Errorf(shared.CodeMethodNotAllowed, "%s is not allowed on %s", r.Method, r.URL.Path).
				With("allow", []string{http.MethodPost}))
			return
		}
		if err := a.importApp(w, r); err != nil {
			a.fail(w, r, err)
		}
	})
}

func (a *API) importApp(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxImportBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return shared.TooLarge(MaxImportBytes)
		}
		return shared.BadJSON("could not read the body: %v", err)
	}
	var raw any
	if err := json.Unmarshal(body, &raw); err != nil {
		return shared.BadJSON("the body must be a JSON object")
	}
	if err := checkDeep(raw, reflect.TypeOf(shared.ImportRequest{}), ""); err != nil {
		return err
	}
	var req shared.ImportRequest
	if err := json.Unmarshal(body, &req); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return shared.BadJSON("field %q must be %s, not %s", te.Field, jsonKind(te.Type), te.Value).With("field", te.Field)
		}
		return shared.BadJSON("the body does not match the export document's shape")
	}
	plan, missing, err := a.planImport(req)
	if err != nil {
		return err
	}
	takeover, giveBack := a.confirms.take(req.ConfirmToken, 0, plan.App.Slug)
	plan.Takeover = takeover
	app, err := writeAs[shared.App](r.Context(), a, &Command{Op: OpImportApp, Import: &plan})
	if err != nil {
		giveBack()
		return a.offerTakeover(err, 0, plan.App.Slug)
	}
	return writeJSON(w, http.StatusCreated, shared.Imported{App: app, MissingSecrets: missing})
}

// checkDeep rejects keys that t has no field for, through nested objects
// and arrays of objects, naming the document's path ("scripts[1].sorce").
func checkDeep(v any, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch x := v.(type) {
	case map[string]any:
		if t == overridesType {
			for k := range x {
				if err := shared.ValidateOverrides(shared.Overrides{k: 1}, shared.BuiltinCeiling()); shared.IsCode(err, shared.CodeUnknownField) {
					return shared.UnknownField(join(path, k))
				}
			}
			return nil
		}
		if t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(unmarshalerType) {
			return nil
		}
		fields := flatFields(t)
		keys := slices.Sorted(maps.Keys(x))
		for _, k := range keys {
			ft, ok := fields[k]
			if !ok {
				return shared.UnknownField(join(path, k))
			}
			if err := checkDeep(x[k], ft, join(path, k)); err != nil {
				return err
			}
		}
	case []any:
		if t.Kind() != reflect.Slice {
			return nil
		}
		for i, e := range x {
			if err := checkDeep(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// flatFields is jsonFields with the fields of embedded structs lifted, as
// encoding/json does.
func flatFields(t reflect.Type) map[string]reflect.Type {
	out := jsonFields(t)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct && f.Tag.Get("json") == "" {
			delete(out, f.Name)
			maps.Copy(out, flatFields(f.Type))
		}
	}
	return out
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// at moves err to the document's path: field becomes path, or path.sub
// when the rule named a part of the object (path "routes[2]", rule field
// "path": "routes[2].path"). leaf says the object is a bare value.
func at(path string, err error, leaf bool) error {
	e, ok := shared.AsError(err)
	if !ok {
		return err
	}
	if sub := e.Detail("field"); sub != "" && !leaf {
		return e.With("field", path+"."+sub)
	}
	return e.With("field", path)
}

// planImport validates a document as the single endpoints would, in the
// order they would be called, and returns what the store writes.
func (a *API) planImport(req shared.ImportRequest) (store.ImportPlan, []string, error) {
	var p store.ImportPlan
	if req.Format != shared.ExportFormat {
		return p, nil, shared.Validation("picloud_export", "picloud_export must be %d, the document format this node reads", shared.ExportFormat)
	}
	app := req.App
	if err := checkTexts(&app.Name, maxNameLen, &app.Description); err != nil {
		return p, nil, at("app", err, false)
	}
	p.App = shared.App{Slug: app.Slug, Name: app.Name, Description: app.Description}
	p.SlugField = "app.slug"
	if req.Slug != nil {
		p.App.Slug, p.SlugField = *req.Slug, "slug"
	}
	if err := shared.ValidateSlug(p.App.Slug); err != nil {
		return p, nil, at(p.SlugField, err, true)
	}
	var claims []shared.Domain
	for i, d := range req.Domains {
		pattern, shape, err := shared.NormalizeDomain(d)
		if err != nil {
			return p, nil, at(fmt.Sprintf("domains[%d]", i), err, true)
		}
		for j, c := range claims {
			if p.Domains[j].Shape == shape {
				return p, nil, shared.Errorf(shared.CodeDomainClaimed, "%q is listed twice (domains[%d])", c.Pattern, j).
					With("field", fmt.Sprintf("domains[%d]", i))
			}
		}
		p.Domains = append(p.Domains, store.ImportDomain{Pattern: pattern, Shape: shape})
		claims = append(claims, shared.Domain{Pattern: pattern})
	}
	programs, byName, err := a.planScripts(req.Scripts, &p)
	if err != nil {
		return p, nil, err
	}
	if err := planRoutes(req.Routes, claims, programs, byName, &p); err != nil {
		return p, nil, err
	}
	if err := planSchedules(req.Schedules, programs, byName, &p); err != nil {
		return p, nil, err
	}
	if p.Egress, err = shared.NormalizeEgress(req.Egress); err != nil {
		return p, nil, at("egress", err, true)
	}
	missing, err := planEnv(req.Env, req.Secrets, &p)
	if err != nil {
		return p, nil, err
	}
	return p, missing, a.planKV(req.KV, &p)
}

func (a *API) planScripts(scripts []shared.ExportScript, p *store.ImportPlan) ([]*executor.Program, map[string]int, error) {
	byName := map[string]int{}
	programs := make([]*executor.Program, len(scripts))
	for i, s := range scripts {
		path := fmt.Sprintf("scripts[%d]", i)
		if err := checkTexts(&s.Name, maxScriptNameLen, &s.Description); err != nil {
			return nil, nil, at(path, err, false)
		}
		if _, dup := byName[s.Name]; dup {
			return nil, nil, shared.Errorf(shared.CodeScriptNameTaken, "two scripts are called %q", s.Name).With("field", path+".name")
		}
		prog, err := a.checkProgram(s.Source, s.Sandbox)
		if err != nil {
			if e, ok := shared.AsError(err); ok && e.Detail("field") == "" {
				err = e.With("field", "source")
			}
			return nil, nil, at(path, err, false)
		}
		byName[s.Name], programs[i] = i, prog
		p.Scripts = append(p.Scripts, shared.Script{Name: s.Name, Source: s.Source, Sandbox: s.Sandbox, Description: s.Description})
	}
	return programs, byName, nil
}

func scriptRef(name, path string, byName map[string]int) (int, error) {
	i, ok := byName[name]
	if !ok {
		return 0, shared.Validation(path+".script", "there is no script %q in the document", name)
	}
	return i, nil
}

func planRoutes(routes []shared.ExportRoute, claims []shared.Domain, programs []*executor.Program, byName map[string]int, p *store.ImportPlan) error {
	var made []shared.Route
	for i, r := range routes {
		path := fmt.Sprintf("routes[%d]", i)
		si, err := scriptRef(r.Script, path, byName)
		if err != nil {
			return err
		}
		rt, err := newRoute(0, shared.CreateRouteRequest{ScriptID: int64(si) + 1, Method: r.Method, Path: r.Path, Host: r.Host})
		if err != nil {
			return at(path, err, false)
		}
		if !programs[si].Has(executor.EntryHandle) {
			return shared.Validation(path+".script", "script %q defines no handle(req) function for a route to call", r.Script)
		}
		if rt.Host != nil && !covered(claims, *rt.Host) {
			return shared.Errorf(shared.CodeHostNotClaimed, "host %q is not covered by the document's domains", *rt.Host).
				With("field", path+".host")
		}
		rt.ID = int64(i + 1)
		if c := shared.RoutesConflict(made, rt); c != nil {
			return at(path, shared.RouteConflictError(*c), true)
		}
		made = append(made, rt)
		p.Routes = append(p.Routes, store.ImportRoute{Script: si, Method: rt.Method, Path: rt.Path, Host: rt.Host})
	}
	return nil
}

func planSchedules(schedules []shared.ExportSchedule, programs []*executor.Program, byName map[string]int, p *store.ImportPlan) error {
	for i, s := range schedules {
		path := fmt.Sprintf("schedules[%d]", i)
		si, err := scriptRef(s.Script, path, byName)
		if err != nil {
			return err
		}
		if s.Timezone == "" {
			s.Timezone = shared.DefaultTimezone
		}
		c, err := shared.ParseCron(s.Cron, s.Timezone)
		if err != nil {
			return at(path, err, false)
		}
		if !programs[si].Has(executor.EntryScheduled) {
			return shared.Validation(path+".script", "script %q defines no scheduled(event, env) function", s.Script)
		}
		p.Schedules = append(p.Schedules, store.ImportSchedule{Script: si, Cron: c.String(), Timezone: s.Timezone})
	}
	return nil
}

// planEnv takes plain variables from the document and secrets' values from
// the request; a secret without a value is reported, not created.
func planEnv(env []shared.ExportEnv, secrets map[string]string, p *store.ImportPlan) (missing []string, err error) {
	missing = []string{}
	seen := map[string]bool{}
	for i, e := range env {
		path := fmt.Sprintf("env[%d]", i)
		if err := shared.ValidateEnvName(e.Name); err != nil {
			return nil, at(path+".name", err, true)
		}
		if seen[e.Name] {
			return nil, shared.Validation(path+".name", "%s is listed twice", e.Name)
		}
		seen[e.Name] = true
		value := e.Value
		if e.Secret {
			if e.Value != nil {
				return nil, shared.Validation(path+".value", "a secret's value never travels in the document; give it in \"secrets\"")
			}
			v, ok := secrets[e.Name]
			if !ok {
				missing = append(missing, e.Name)
				continue
			}
			value = &v
		}
		if value == nil {
			return nil, shared.Validation(path+".value", "a variable needs its value")
		}
		if err := shared.ValidateEnvValue(value); err != nil {
			return nil, at(path+".value", err, true)
		}
		p.Env = append(p.Env, store.ImportEnv{Name: e.Name, Value: *value, Secret: e.Secret})
	}
	if len(p.Env) > shared.MaxEnvEntries {
		return nil, shared.Validation("env", "an app holds at most %d variables and secrets", shared.MaxEnvEntries)
	}
	for name := range secrets {
		if !seen[name] {
			return nil, shared.Validation("secrets."+name, "the document names no secret %s", name)
		}
	}
	return missing, nil
}

func (a *API) planKV(entries []shared.ExportKV, p *store.ImportPlan) error {
	seen := map[string]bool{}
	var bytes int64
	for i, e := range entries {
		bytes += int64(len(e.Key) + len(e.Value) + len(e.Metadata))
		path := fmt.Sprintf("kv[%d]", i)
		if err := shared.CheckKVKey(e.Key); err != nil {
			return at(path+".key", err, true)
		}
		if seen[e.Key] {
			return shared.Validation(path+".key", "key %q is listed twice", e.Key)
		}
		seen[e.Key] = true
		if a.kv != nil {
			if err := shared.CheckKVValue(int64(len(e.Value)), a.kv.MaxValue()); err != nil {
				return at(path+".value", err, true)
			}
		}
		if len(e.Metadata) > 0 {
			if err := shared.CheckKVMetadata(e.Metadata); err != nil {
				return at(path+".metadata", err, true)
			}
		}
	}
	// The store writes these rows itself, past the writer's quota check;
	// the app is new, so the entries are all it will hold.
	if a.kv != nil && bytes > a.kv.Quota() {
		return shared.KVQuotaExceeded(0, bytes, a.kv.Quota()).With("field", "kv")
	}
	p.KV = entries
	return nil
}
