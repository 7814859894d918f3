package manager

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/picloud/picloud/shared"
)

// KV is the apps' key-value storage (SPEC §7, node/kv's Service). Its
// writes return once durable; its errors are *shared.Error.
type KV interface {
	KVList(ctx context.Context, appID int64, q shared.KVListQuery) (shared.KVList, error)
	KVGet(ctx context.Context, appID int64, key string) (shared.KVValue, error)
	KVPut(ctx context.Context, appID int64, key string, value []byte, opt shared.KVPutOptions) error
	KVDelete(ctx context.Context, appID int64, key string) error
	// MaxValue is the largest value in bytes (PICLOUD_KV_MAX_VALUE).
	MaxValue() int64
	// Quota is an app's quota in bytes (PICLOUD_KV_MAX_APP_BYTES).
	Quota() int64
}

// kvApp is the app a KV request names, once KV is there.
func (a *API) kvApp(r *http.Request, ps httprouter.Params) (shared.App, error) {
	if a.kv == nil {
		return shared.App{}, shared.Errorf(shared.CodeNotFound, "this node has no KV storage")
	}
	return a.appFromURL(r, ps)
}

func (a *API) listKV(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	app, err := a.kvApp(r, ps)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	lq := shared.KVListQuery{Prefix: q.Get("prefix"), Cursor: q.Get("cursor")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > shared.KVMaxListLimit {
			return shared.Validation("limit", "limit must be 1 to %d, not %q", shared.KVMaxListLimit, l)
		}
		lq.Limit = n
	}
	list, err := a.kv.KVList(r.Context(), app.ID, lq)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list)
}

// kvKey is the key of a /kv/{key} URL, unescaped from the raw path, so
// that an escaped "/" or "%" in a key arrives as itself.
func kvKey(r *http.Request) (string, error) {
	_, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.EscapedPath(), shared.PathApps+"/"), "/")
	key, err := url.PathUnescape(strings.TrimPrefix(rest, "kv/"))
	if err != nil {
		return "", shared.Validation("key", "the key is not URL path-escaped: %v", err)
	}
	return key, nil
}

func (a *API) getKV(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	app, err := a.kvApp(r, ps)
	if err != nil {
		return err
	}
	key, err := kvKey(r)
	if err != nil || shared.CheckKVKey(key) != nil {
		return shared.NotFound("key", key) // no entry can have that key
	}
	v, err := a.kv.KVGet(r.Context(), app.ID, key)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(v.Value)))
	if len(v.Metadata) > 0 {
		w.Header().Set(shared.KVMetadataHeader, string(v.Metadata))
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(v.Value)
	return nil
}

func (a *API) putKV(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	app, err := a.kvApp(r, ps)
	if err != nil {
		return err
	}
	key, err := kvKey(r)
	if err != nil {
		return err
	}
	if err := shared.CheckKVKey(key); err != nil {
		return err
	}
	var opt shared.KVPutOptions
	if m := r.Header.Get(shared.KVMetadataHeader); m != "" {
		if err := shared.CheckKVMetadata([]byte(m)); err != nil {
			return err
		}
		opt.Metadata = json.RawMessage(m)
	}
	if ttl := r.URL.Query().Get("expiration_ttl"); ttl != "" {
		n, err := strconv.ParseInt(ttl, 10, 64)
		if err != nil || n < shared.KVMinTTL {
			return shared.Validation("expiration_ttl", "expiration_ttl must be a whole number of seconds, at least %d, not %q", shared.KVMinTTL, ttl)
		}
		opt.ExpirationTTL = n
	}
	max := a.kv.MaxValue()
	value, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		return shared.Errorf(shared.CodeBadJSON, "reading the value failed: %v", err)
	}
	if err := shared.CheckKVValue(int64(len(value)), max); err != nil {
		return err
	}
	if err := a.kv.KVPut(r.Context(), app.ID, key, value, opt); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) deleteKV(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	app, err := a.kvApp(r, ps)
	if err != nil {
		return err
	}
	key, err := kvKey(r)
	if err != nil {
		return err
	}
	if err := shared.CheckKVKey(key); err != nil {
		return err
	}
	if err := a.kv.KVDelete(r.Context(), app.ID, key); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
