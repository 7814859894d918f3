package replicate

import (
	"errors"
	"fmt"

	"github.com/picloud/picloud/node/manager"
)

// Sealer is the cluster's secrets key (store.Sealer).
type Sealer interface {
	Seal(plain, ad []byte) ([]byte, error)
	Open(sealed, ad []byte) ([]byte, error)
}

// A secret's value never enters the log in clear: the proposer seals it
// under the cluster's key, bound to the command's operation and the
// secret's name, and each member opens it to apply (the store then seals
// it at rest, as on a single node).
func logAD(op, name string) []byte { return []byte("picloud/log\x00" + op + "\x00" + name) }

// maybeSecret: an env.put whose kind is not "plain" may be a secret (an
// absent kind keeps the entry's, decided in the store's transaction).
func maybeSecret(c *manager.Command) bool { return c.Secret == nil || *c.Secret }

func sealSecrets(k Sealer, c *manager.Command) error {
	seal := func(name, value string) error {
		if k == nil {
			return errors.New("the node has no secrets key")
		}
		b, err := k.Seal([]byte(value), logAD(c.Op, name))
		if err != nil {
			return fmt.Errorf("seal %s for the log: %w", name, err)
		}
		if c.Sealed == nil {
			c.Sealed = map[string][]byte{}
		}
		c.Sealed[name] = b
		return nil
	}
	switch {
	case c.Op == manager.OpPutEnv && maybeSecret(c):
		if err := seal(c.Name, c.Value); err != nil {
			return err
		}
		c.Value = ""
	case c.Op == manager.OpImportApp:
		plan := *c.Import
		plan.Env = append(plan.Env[:0:0], plan.Env...)
		for i, e := range plan.Env {
			if e.Secret {
				if err := seal(e.Name, e.Value); err != nil {
					return err
				}
				plan.Env[i].Value = ""
			}
		}
		c.Import = &plan
	}
	return nil
}

func openSecrets(k Sealer, c *manager.Command) error {
	if len(c.Sealed) == 0 {
		return nil
	}
	if k == nil {
		return errors.New("the node has no secrets key")
	}
	open := func(name string) (string, error) {
		b, err := k.Open(c.Sealed[name], logAD(c.Op, name))
		if err != nil {
			return "", fmt.Errorf("open %s from the log: %w", name, err)
		}
		return string(b), nil
	}
	var err error
	switch c.Op {
	case manager.OpPutEnv:
		c.Value, err = open(c.Name)
	case manager.OpImportApp:
		for i, e := range c.Import.Env {
			if e.Secret && err == nil {
				c.Import.Env[i].Value, err = open(e.Name)
			}
		}
	}
	c.Sealed = nil
	return err
}
