package manager

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/picloud/picloud/node/httpjson"
	"github.com/picloud/picloud/shared"
)

// decode reads a request body strictly: at most MaxBodyBytes (413
// too_large), a JSON object (400 bad_json otherwise), no field dst does not
// declare (422 unknown_field naming it, "sandbox.<knob>" inside sandbox),
// and values of the declared types (400 bad_json naming the field).
// Unknown fields are found by comparing keys with dst's json tags, never by
// reading decoder error text.
func decode(r *http.Request, dst any) error {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return shared.TooLarge(MaxBodyBytes)
		}
		return shared.BadJSON("could not read the body: %v", err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return shared.BadJSON("the body must be a JSON object")
	}
	if err := checkFields(raw, reflect.TypeOf(dst).Elem(), ""); err != nil {
		return err
	}
	if err := json.Unmarshal(body, dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return shared.BadJSON("field %q must be %s, not %s", te.Field, jsonKind(te.Type), te.Value).With("field", te.Field)
		}
		return shared.BadJSON("the body does not match the expected shape")
	}
	return nil
}

var overridesType = reflect.TypeOf(shared.Overrides(nil))

// checkFields rejects keys of raw that t (a struct) has no json field for,
// recursing into nested objects; sandbox keys must be known knobs. Keys are
// checked in sorted order so the answer is deterministic.
func checkFields(raw map[string]json.RawMessage, t reflect.Type, prefix string) error {
	fields := jsonFields(t)
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ft, ok := fields[k]
		if !ok {
			return shared.UnknownField(prefix + k)
		}
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		var sub map[string]json.RawMessage
		if json.Unmarshal(raw[k], &sub) != nil || sub == nil {
			continue // not an object: the typed decode judges it
		}
		switch {
		case ft == overridesType:
			for _, knob := range sortedKeys(sub) {
				if !slices.Contains(shared.Knobs, knob) {
					return shared.UnknownField(prefix + k + "." + knob)
				}
			}
		case ft.Kind() == reflect.Struct && !reflect.PointerTo(ft).Implements(unmarshalerType):
			if err := checkFields(sub, ft, prefix+k+"."); err != nil {
				return err
			}
		}
	}
	return nil
}

var unmarshalerType = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()

// jsonFields maps the json names of t's exported fields to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := make(map[string]reflect.Type, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// jsonKind names a Go type the way a JSON user thinks of it.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return t.String()
}

// writeJSON answers status with v; a v that does not encode is returned
// and nothing is written.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	return httpjson.Write(w, status, v)
}

// writeError writes err in the contract's envelope. Errors that are not
// *shared.Error are internal: their text stays in the log, not the answer.
func writeError(w http.ResponseWriter, err error) { httpjson.Error(w, err) }

// fail is the edge of every handler: it answers the error a handler
// returned, a redirect as 308 and anything else in the contract's
// envelope, logging the errors that are not the contract's.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	var moved *movedTo
	if errors.As(err, &moved) {
		w.Header().Set("Location", moved.location)
		w.WriteHeader(http.StatusPermanentRedirect)
		return
	}
	if httpjson.Error(w, err) {
		a.log.Error("admin request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
}
