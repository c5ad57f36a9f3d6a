package image

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/registry"
)

// Registry is where built images are pushed. An empty Host means no
// registry: images stay on the Engine that built them.
type Registry struct {
	Host     string // HOST[:PORT][/PREFIX], e.g. "127.0.0.1:5055" or "ghcr.io/team"
	Username string
	Password string
}

// Repo is the repository an app's images are tagged in: HOST/PREFIX/APP with
// a registry, "nonstop/APP" without one.
func (r Registry) Repo(app string) string {
	host := r.host()
	if host == "" {
		return "nonstop/" + app
	}
	return host + "/" + app
}

// Domain is the registry's HOST[:PORT], without the prefix.
func (r Registry) Domain() string {
	host, _, _ := strings.Cut(r.host(), "/")
	return host
}

func (r Registry) host() string {
	h := strings.TrimSpace(r.Host)
	h = strings.TrimPrefix(h, "https://")
	h = strings.TrimPrefix(h, "http://")
	return strings.TrimRight(h, "/")
}

// serves reports whether named lives in this registry.
func (r Registry) serves(named reference.Named) bool {
	return r.Domain() != "" && strings.EqualFold(reference.Domain(named), r.Domain())
}

// authHeader is the X-Registry-Auth value for this registry.
func (r Registry) authHeader() (string, error) {
	return registry.EncodeAuthConfig(registry.AuthConfig{
		Username:      r.Username,
		Password:      r.Password,
		ServerAddress: r.Domain(),
	})
}

// dockerConfig is the part of ~/.docker/config.json nonstop reads.
type dockerConfig struct {
	Auths map[string]struct {
		Auth     string `json:"auth"`
		Username string `json:"username"`
		Password string `json:"password"`
	} `json:"auths"`
	CredsStore  string            `json:"credsStore"`
	CredHelpers map[string]string `json:"credHelpers"`
}

// RegistryFromDockerConfig returns the Registry for host (HOST[:PORT][/PREFIX])
// with the credentials that `docker login` stored for it in the Docker config
// file at path (empty: $DOCKER_CONFIG/config.json, else ~/.docker/config.json).
// A missing file, or no entry for the host, gives a Registry without
// credentials; credentials kept only in a credential helper are an error.
func RegistryFromDockerConfig(path, host string) (Registry, error) {
	reg := Registry{Host: host}
	if reg.Domain() == "" {
		return reg, errors.New("registry host is empty")
	}
	if path == "" {
		path = defaultDockerConfigPath()
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return reg, nil
	}
	if err != nil {
		return reg, fmt.Errorf("read docker config: %w", err)
	}
	var cfg dockerConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		return reg, fmt.Errorf("read docker config %s: %w", path, err)
	}
	for key, entry := range cfg.Auths {
		if !strings.EqualFold(configKeyDomain(key), reg.Domain()) {
			continue
		}
		if entry.Auth != "" {
			raw, err := base64.StdEncoding.DecodeString(entry.Auth)
			if err != nil {
				return reg, fmt.Errorf("docker config %s: auth for %s is not base64: %w", path, key, err)
			}
			user, pass, ok := strings.Cut(string(raw), ":")
			if !ok {
				return reg, fmt.Errorf("docker config %s: auth for %s is not user:password", path, key)
			}
			reg.Username, reg.Password = user, pass
			return reg, nil
		}
		if entry.Username != "" {
			reg.Username, reg.Password = entry.Username, entry.Password
			return reg, nil
		}
	}
	if helper := cfg.CredHelpers[reg.Domain()]; helper != "" || cfg.CredsStore != "" {
		if helper == "" {
			helper = cfg.CredsStore
		}
		return reg, fmt.Errorf("docker config %s keeps the credentials for %s in the credential helper %q, which nonstop does not read; give the user and password instead", path, reg.Domain(), helper)
	}
	return reg, nil
}

func defaultDockerConfigPath() string {
	if dir := os.Getenv("DOCKER_CONFIG"); dir != "" {
		return filepath.Join(dir, "config.json")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(".docker", "config.json")
	}
	return filepath.Join(home, ".docker", "config.json")
}

// configKeyDomain turns an `auths` key ("https://index.docker.io/v1/",
// "127.0.0.1:5055", "http://host:5000/v2/") into a registry domain.
func configKeyDomain(key string) string {
	key = strings.TrimPrefix(key, "https://")
	key = strings.TrimPrefix(key, "http://")
	key, _, _ = strings.Cut(key, "/")
	if key == "index.docker.io" || key == "registry-1.docker.io" {
		return "docker.io"
	}
	return key
}
