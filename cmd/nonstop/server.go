package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/nonstopdev/nonstop/internal/proxy/daemon"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nonstopdev/nonstop/internal/proxy/certs"
	"github.com/nonstopdev/nonstop/internal/runtime/kubernetes"
	"github.com/nonstopdev/nonstop/internal/server"
)

func newServerCmd() *cobra.Command {
	var cfg server.Config
	var registryPasswordFile string
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane (API, rollouts); starts the proxy when it is not running",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkHTTPSFlags(cfg.HTTPSAddr, cfg.RedirectHTTPS, cfg.TLS); err != nil {
				return err
			}
			if err := readRegistryPassword(&cfg.Containers, registryPasswordFile); err != nil {
				return err
			}
			cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
			cfg.Out = os.Stderr
			cfg.Version = version
			return server.Run(cmd.Context(), cfg)
		},
	}
	cmd.Flags().StringArrayVar(&cfg.NotifyURLs, "notify", nil, "POST rollout events (started, step passed, paused, failed, rolled back, succeeded) as JSON to this URL; Slack-compatible (repeatable)")
	cmd.Flags().IntVar(&cfg.BuildWorkers, "build-workers", 2, "builds that run at once, all apps together")
	cmd.Flags().StringArrayVar(&cfg.ImagePrefixes, "image-prefix", nil, "an image reference prefix members may deploy with deploy --image besides their apps' own, e.g. ghcr.io/acme/ (repeatable)")
	cmd.Flags().StringToStringVar(&cfg.BuildEnv, "build-env", nil, "KEY=VALUE added to every build's environment, e.g. GOPROXY=https://proxy.example, npm_config_registry=… (repeatable); apps' env wins")
	cmd.Flags().StringSliceVar(&cfg.BuildLabels, "build-labels", nil, "labels this machine's build workers offer besides local, OS, architecture and docker (apps pick with build_labels)")
	cmd.Flags().StringVar(&cfg.Containers.DockerNetwork, "docker-network", "", "an existing Docker network every app's containers join (default: a network of each app's own, so no app's containers reach another's)")
	cmd.Flags().StringVar(&cfg.Containers.DockerHost, "docker-host", "", "Docker Engine (or Podman) API address, e.g. unix:///run/podman/podman.sock (default $DOCKER_HOST or the standard socket)")
	cmd.Flags().BoolVar(&cfg.Containers.Required, "require-docker", false, "fail to start when Docker Engine does not answer (default: run without the docker runtime)")
	cmd.Flags().StringVar(&cfg.Containers.Registry.Host, "registry", "", "push built images to HOST[:PORT][/PREFIX] (default: keep them on this Engine)")
	cmd.Flags().StringVar(&cfg.Containers.Registry.Username, "registry-user", "", "registry user (default: from the Docker config file)")
	cmd.Flags().StringVar(&registryPasswordFile, "registry-password-file", "", "file holding the registry password (or $NONSTOP_REGISTRY_PASSWORD)")
	cmd.Flags().StringVar(&cfg.Containers.DockerConfig, "docker-config", "", "Docker config file with registry credentials (default ~/.docker/config.json)")
	cmd.Flags().StringVar(&cfg.Cluster.Kubeconfig, "kubeconfig", "", "kubeconfig of the Kubernetes cluster for apps with runtime kubernetes (default $KUBECONFIG, then the in-cluster service account; none: no kubernetes runtime)")
	cmd.Flags().BoolVar(&cfg.Cluster.PodNetwork, "kube-pod-network", false, "nonstop's proxy reaches the pods' IPs (it runs in the cluster or on its network): it carries kubernetes apps' traffic to their ready endpoints, and splits and measures canaries itself")
	cmd.Flags().BoolVar(&cfg.Cluster.Builds, "kube-builds", false, "build kubernetes apps' images as Jobs on the cluster's build nodes (needs --registry)")
	cmd.Flags().StringVar(&cfg.Cluster.BuilderImage, "kube-builder-image", "", "image of the build Jobs' builder (default "+kubernetes.DefaultBuilderImage+")")
	cmd.Flags().StringVar(&cfg.Cluster.FetchImage, "kube-fetch-image", "", "image that fetches the source in build Jobs (default "+kubernetes.DefaultFetchImage+")")
	cmd.Flags().StringVar(&cfg.Cluster.RegistrySecret, "kube-registry-secret", "", "dockerconfigjson Secret (in the app's namespace) the builder pushes with")
	cmd.Flags().StringVar(&cfg.Cluster.SourceURL, "kube-source-url", "", "nonstop's API URL as build pods reach it (default http://API address)")
	cmd.Flags().StringVar(&cfg.DataDir, "data", defaultDataDir(), "data folder")
	cmd.Flags().StringVar(&cfg.APIAddr, "api", "127.0.0.1:7070", "API and dashboard listen address")
	cmd.Flags().StringVar(&cfg.HTTPAddr, "http", ":8080", "proxy listen address for the apps")
	cmd.Flags().StringVar(&cfg.DomainSuffix, "domain-suffix", "localhost", "app NAME is served at NAME.SUFFIX")
	addHTTPSFlags(cmd.Flags(), &cfg.HTTPSAddr, &cfg.RedirectHTTPS, &cfg.TLS)
	return cmd
}

func newProxyCmd() *cobra.Command {
	var data, httpAddr, httpsAddr, accessLog string
	var reserved []string
	var redirect bool
	var tlsCfg certs.Config
	cmd := &cobra.Command{
		Use:   "proxy",
		Short: "Run the data plane alone (`nonstop server` starts it by default)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkHTTPSFlags(httpsAddr, redirect, tlsCfg); err != nil {
				return err
			}
			tlsCfg.CacheDir = server.CertsDir(data)
			return daemon.Run(cmd.Context(), daemon.Config{
				HTTPAddr:      httpAddr,
				SocketPath:    server.SocketPath(data),
				StateFile:     server.StateFile(data),
				Logger:        slog.New(slog.NewTextHandler(os.Stderr, nil)),
				HTTPSAddr:     httpsAddr,
				RedirectHTTPS: redirect,
				TLS:           tlsCfg,
				AccessLog:     accessLogPath(data, accessLog),
				Reserved:      reserved,
			})
		},
	}
	cmd.Flags().StringVar(&data, "data", defaultDataDir(), "data folder")
	cmd.Flags().StringVar(&httpAddr, "http", ":8080", "listen address for the apps")
	cmd.Flags().StringArrayVar(&reserved, "reserve", nil, "another of nonstop's own listeners (the API's) no route may send traffic to; the proxy's are anyway (repeatable; the server passes its API address)")
	cmd.Flags().StringVar(&accessLog, "access-log", "", `file for one JSON line per request (default DATA/proxy/access.log; "off": none)`)
	cmd.Flags().StringVar(&tlsCfg.DomainSuffix, "domain-suffix", "localhost", "hosts NAME.SUFFIX get no ACME certificate (serve them with a wildcard --tls-cert)")
	addHTTPSFlags(cmd.Flags(), &httpsAddr, &redirect, &tlsCfg)
	return cmd
}

// addHTTPSFlags adds the HTTPS flags, which `server` passes on to the
// proxy it starts.
func addHTTPSFlags(f *pflag.FlagSet, addr *string, redirect *bool, c *certs.Config) {
	f.StringVar(addr, "https", "", "HTTPS listen address for the apps, e.g. :443 (off when empty)")
	f.StringVar(&c.CertFile, "tls-cert", "", "certificate chain (PEM) to serve for the names it covers, e.g. a wildcard; without --acme-email, the only certificate")
	f.StringVar(&c.KeyFile, "tls-key", "", "private key (PEM) of --tls-cert")
	f.StringVar(&c.Email, "acme-email", "", "contact email of the ACME account (certificates are issued by ACME unless --tls-cert is given without it)")
	f.StringVar(&c.Directory, "acme-directory", certs.LetsEncrypt, "ACME directory URL")
	f.StringVar(&c.CARoots, "acme-ca-roots", "", "PEM file of extra roots to trust the ACME server with (a test CA such as Pebble)")
	f.BoolVar(redirect, "redirect-https", false, "redirect (308) HTTP requests to HTTPS for hosts that have a certificate")
}

func checkHTTPSFlags(addr string, redirect bool, c certs.Config) error {
	if addr == "" {
		if redirect {
			return errors.New("--redirect-https needs --https")
		}
		return nil
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	return nil
}

func newShutdownCmd() *cobra.Command {
	var data string
	cmd := &cobra.Command{
		Use:   "shutdown",
		Short: "Stop the control plane, the proxy (draining it) and every instance",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return server.Shutdown(cmd.Context(), data, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&data, "data", defaultDataDir(), "data folder")
	return cmd
}

// accessLogPath is where the proxy writes its access log, or "" for none.
func accessLogPath(data, flag string) string {
	switch flag {
	case "off":
		return ""
	case "":
		return filepath.Join(data, "proxy", "access.log")
	}
	return flag
}

// readRegistryPassword takes the registry password from a file or the
// environment: never from a flag, which any user could read in ps.
func readRegistryPassword(c *server.ContainerConfig, file string) error {
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("registry password: %w", err)
		}
		c.Registry.Password = strings.TrimSpace(string(b))
	case os.Getenv("NONSTOP_REGISTRY_PASSWORD") != "":
		c.Registry.Password = os.Getenv("NONSTOP_REGISTRY_PASSWORD")
	}
	if c.Registry.Username != "" && c.Registry.Password == "" {
		return fmt.Errorf("--registry-user %s: give the password with --registry-password-file or $NONSTOP_REGISTRY_PASSWORD", c.Registry.Username)
	}
	return nil
}
