package docker

import (
	"context"
	"net"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/network"
)

// containerIP returns instance id's address on its app's network.
func containerIP(t *testing.T, id, nw string) string {
	t.Helper()
	ins := inspect(t, id)
	ep := ins.NetworkSettings.Networks[nw]
	if ep == nil || ep.IPAddress == "" {
		t.Fatalf("container of %s is not on network %s: %v", id, nw, ins.NetworkSettings.Networks)
	}
	return ep.IPAddress
}

func TestStart_EachAppHasANetworkOfItsOwnThatNoOtherAppReaches(t *testing.T) {
	rt := newRuntime(t)
	shop, blog := runID+"-shop", runID+"-blog"
	shop1, shop2, blog1 := testSpec("net-shop1"), testSpec("net-shop2"), testSpec("net-blog1")
	shop1.App, shop2.App, blog1.App = shop, shop, blog
	in1, in2, inb := start(t, rt, shop1), start(t, rt, shop2), start(t, rt, blog1)
	for _, in := range []string{in1.Addr, in2.Addr, inb.Addr} {
		waitServing(t, in, "/healthz")
	}

	shopNet := networkName("", shop)
	target := net.JoinHostPort(containerIP(t, shop1.ID, shopNet), "8080")
	if got, _ := get(in2.Addr, "/dial?addr="+target); got != "connected\n" {
		t.Errorf("an instance of shop dialling another one (%s): %q, want connected", target, got)
	}
	if got, ok := get(inb.Addr, "/dial?addr="+target); !ok || got == "connected\n" {
		t.Errorf("blog's instance dialling shop's (%s): %q (answered: %v), want its dial error", target, got, ok)
	} else {
		t.Logf("blog's instance dialling shop's: %s", strings.TrimSpace(got))
	}

	nw, err := engine.cli.NetworkInspect(t.Context(), shopNet, network.InspectOptions{})
	if err != nil {
		t.Fatalf("shop's network: %v", err)
	}
	if nw.Labels[LabelManaged] != "true" || nw.Labels[LabelApp] != shop || nw.Driver != "bridge" {
		t.Errorf("shop's network: labels %v driver %q, want managed, app %s, bridge", nw.Labels, nw.Driver, shop)
	}
}

func TestRemoveApp_RemovesTheAppsNetworkOnceItsContainersAreGone(t *testing.T) {
	rt := newRuntime(t)
	spec := testSpec("net-remove")
	spec.App = runID + "-gone"
	start(t, rt, spec)
	ctx := t.Context()
	if err := rt.Stop(ctx, spec.ID, waitTime); err != nil {
		t.Fatal(err)
	}
	if err := rt.Remove(ctx, spec.ID); err != nil {
		t.Fatal(err)
	}
	if err := rt.RemoveApp(ctx, spec.App); err != nil {
		t.Fatalf("RemoveApp: %v", err)
	}
	if _, err := engine.cli.NetworkInspect(ctx, networkName("", spec.App), network.InspectOptions{}); !cerrdefs.IsNotFound(err) {
		t.Errorf("network after RemoveApp: %v, want not found", err)
	}
	if err := rt.RemoveApp(ctx, spec.App); err != nil {
		t.Errorf("RemoveApp again: %v, want nil", err)
	}
}

func TestStart_RefusesANetworkOfTheAppsNameThatNonstopDidNotCreate(t *testing.T) {
	rt := newRuntime(t)
	spec := testSpec("net-foreign")
	spec.App = runID + "-foreign"
	name := networkName("", spec.App)
	ctx := context.Background()
	if _, err := engine.cli.NetworkCreate(ctx, name, network.CreateOptions{Driver: "bridge"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.cli.NetworkRemove(ctx, name) })
	removeAtEnd(t, spec.ID)
	_, err := rt.Start(t.Context(), spec)
	if err == nil || !strings.Contains(err.Error(), "network "+name+" exists and is not app") {
		t.Fatalf("Start beside a foreign network: %v, want it refused, naming the network", err)
	}
}

func TestNetworkName_HoldsTheScopeSoThatInstallationsDoNotCollide(t *testing.T) {
	if a, b := networkName("abcdef123", "shop"), networkName("fedcba", "shop"); a == b || a != "nonstop-abcdef-shop" {
		t.Errorf("networkName: %q and %q, want nonstop-abcdef-shop and another", a, b)
	}
}
