package image

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// ErrUnauthorized: a registry refused a user name and password.
var ErrUnauthorized = errors.New("unauthorized: wrong user name or password")

// credentialKey is the key Docker's config file keeps a registry's
// credentials under: Docker Hub's historic URL, else the host.
func credentialKey(server string, insecure bool) (name.Registry, string, error) {
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(server, opts...)
	if err != nil {
		return name.Registry{}, "", fmt.Errorf("registry %q: %w", server, err)
	}
	key := reg.RegistryStr()
	if key == name.DefaultRegistry {
		key = authn.DefaultAuthKey
	}
	return reg, key, nil
}

// Login checks a user name and password against a registry and, when it
// takes them, keeps them as Docker does: in the credential helper the
// Docker config file names (credsStore, credHelpers), else in the file
// itself ($DOCKER_CONFIG/config.json, ~/.docker/config.json). Pulls and
// pushes then find them through go-containerregistry's keychain.
func Login(ctx context.Context, server, user, password string, insecure bool) error {
	reg, key, err := credentialKey(server, insecure)
	if err != nil {
		return err
	}
	if err := checkLogin(ctx, reg, user, password, insecure); err != nil {
		return err
	}
	cf, err := config.Load(config.Dir())
	if err != nil {
		return fmt.Errorf("read the Docker config: %w", err)
	}
	auth := types.AuthConfig{Username: user, Password: password, ServerAddress: key}
	if err := cf.GetCredentialsStore(key).Store(auth); err != nil {
		return fmt.Errorf("store credentials in %s: %w", cf.Filename, err)
	}
	return nil
}

// checkLogin asks the registry's /v2/ with the credentials (through its
// token service when it has one).
func checkLogin(ctx context.Context, reg name.Registry, user, password string, insecure bool) error {
	auth := authn.FromConfig(authn.AuthConfig{Username: user, Password: password})
	base := newRegistryTransport(insecure, Timeouts{})
	tr, err := transport.NewWithContext(ctx, reg, auth, base, []string{reg.Scope(transport.PullScope)})
	if err != nil {
		var te *transport.Error
		if errors.As(err, &te) && te.StatusCode == http.StatusUnauthorized {
			return fmt.Errorf("login to %s: %w", reg, ErrUnauthorized)
		}
		return fmt.Errorf("login to %s: %w", reg, oneLine(err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, reg.Scheme()+"://"+reg.RegistryStr()+"/v2/", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return fmt.Errorf("login to %s: %w", reg, oneLine(err))
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("login to %s: %w", reg, ErrUnauthorized)
	}
	return fmt.Errorf("login to %s: GET /v2/: %s", reg, resp.Status)
}

// Logout forgets a registry's credentials, wherever Login kept them. It
// fails when there were none.
func Logout(server string) error {
	_, key, err := credentialKey(server, false)
	if err != nil {
		return err
	}
	cf, err := config.Load(config.Dir())
	if err != nil {
		return fmt.Errorf("read the Docker config: %w", err)
	}
	store := cf.GetCredentialsStore(key)
	if a, err := store.Get(key); err != nil || a.Username == "" && a.Password == "" && a.IdentityToken == "" {
		return fmt.Errorf("not logged in to %s", key)
	}
	if err := store.Erase(key); err != nil {
		return fmt.Errorf("remove credentials from %s: %w", cf.Filename, err)
	}
	return nil
}
