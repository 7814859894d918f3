package kv

import (
	"context"

	"github.com/picloud/picloud/node/store"
	"github.com/picloud/picloud/shared"
)

// The admin API's side of an app's KV (SPEC §7), in the shared client's
// shapes. Writes go through the same group-commit writer as the scripts'.

// KVList returns a page of an app's keys; q.Limit 0 means 1,000.
func (s *Service) KVList(ctx context.Context, appID int64, q shared.KVListQuery) (shared.KVList, error) {
	if q.Limit == 0 {
		q.Limit = shared.KVMaxListLimit
	}
	keys, next, err := s.App(appID).Keys(ctx, q.Prefix, q.Cursor, q.Limit)
	if err != nil {
		return shared.KVList{}, err
	}
	return shared.KVList{Keys: keys, ListComplete: next == "", Cursor: next, Quota: s.quota}, nil
}

// KVGet returns an entry's value and metadata; 404 not_found when the key
// is absent or expired.
func (s *Service) KVGet(ctx context.Context, appID int64, key string) (shared.KVValue, error) {
	e, found, err := s.App(appID).Entry(ctx, key)
	if err != nil {
		return shared.KVValue{}, err
	}
	if !found {
		return shared.KVValue{}, shared.NotFound("key", key)
	}
	return shared.KVValue{Value: e.Value, Metadata: e.Metadata}, nil
}

// KVPut stores value under key once it is durable.
func (s *Service) KVPut(ctx context.Context, appID int64, key string, value []byte, opt shared.KVPutOptions) error {
	exp, err := shared.KVExpiration(s.now(), opt.ExpirationTTL, 0)
	if err != nil {
		return err
	}
	return s.App(appID).Write(ctx, store.KVWrite{Key: key, Value: value, Metadata: opt.Metadata, Expiration: exp})
}

// KVDelete removes key once the removal is durable.
func (s *Service) KVDelete(ctx context.Context, appID int64, key string) error {
	return s.App(appID).Delete(ctx, key)
}
