package server

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/picloud/picloud/node/secrets"
	"github.com/picloud/picloud/node/store"
)

// useSecrets loads the data directory's secrets.key (made on first start)
// into st, and reports at start any secret it cannot open: that means the
// key was lost or replaced, and the affected scripts would otherwise just
// see their env.NAME vanish. The secrets stay stored, so restoring the
// old key brings them back.
//
// The key is swappable: joining a cluster replaces it with the cluster's.
func useSecrets(ctx context.Context, dir string, st *store.Store, log *slog.Logger) (*secrets.Swappable, error) {
	path := filepath.Join(dir, secrets.FileName)
	key, created, err := secrets.Load(path)
	if err != nil {
		return nil, err
	}
	inUse := secrets.NewSwappable(key)
	st.UseSecrets(inUse)
	lost, err := st.UnreadableSecrets(ctx)
	if err != nil {
		return nil, err
	}
	if len(lost) == 0 {
		return inUse, nil
	}
	names := make([]string, len(lost))
	for i, s := range lost {
		names[i] = s.App + "/" + s.Name
	}
	why := "was replaced"
	if created {
		why = "was missing, so a new one was made"
	}
	log.Error(fmt.Sprintf("%d secrets cannot be decrypted: %s %s. Scripts do not see them. "+
		"Stop the node and restore the secrets.key they were set under, or set them again",
		len(lost), path, why), "key", key.ID(), "secrets", strings.Join(names, ", "))
	return inUse, nil
}
