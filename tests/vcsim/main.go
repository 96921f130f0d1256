// Command vcsim serves a simulated vCenter (govmomi's simulator.VPX model) on 127.0.0.1 for the tests of
// tracker/inventory/vcenter.py. It builds offline in GOPATH mode against Debian's govmomi 0.24 sources:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode GOPROXY=off go build -o vcsim ./tests/vcsim
//
// Example:
//
//	vcsim -hosts 'esx-01=7.0.3:18644231,esx-02=7.0.2:18538813' -clusters 1 -vcenter 7.0.3:19234570 \
//	      -vms 'app-01=esx-01:12389,app-02=esx-02:12448'
//
// prints one line, the SDK URL with the credentials ("https://user:pass@127.0.0.1:PORT/sdk"), once it
// serves, then serves until it gets SIGINT or SIGTERM.
//
// Inventory: one datacenter "DC0" and -clusters clusters named as the simulator names them ("DC0_C0",
// "DC0_C1", ...). The -hosts hosts are spread round-robin over the clusters, with exactly the given names;
// -standalone hosts sit each in a standalone ComputeResource of their own in DC0's host folder. -vms VMs run on
// the named host (on a local datastore of their own) and report the given guest.toolsVersion number.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// hostSpec is one "name=version:build" item of -hosts or -standalone.
type hostSpec struct {
	name, version, build string
}

// parseRelease splits "7.0.3:18644231" into version and build.
func parseRelease(s string) (string, string, error) {
	version, build, ok := strings.Cut(s, ":")
	if !ok || version == "" || build == "" {
		return "", "", fmt.Errorf("%q: expected VERSION:BUILD, e.g. 7.0.3:18644231", s)
	}
	return version, build, nil
}

// parseHosts reads "esx-01=7.0.3:18644231,esx-02=7.0.2:18538813" (empty string: no hosts).
func parseHosts(s string) ([]hostSpec, error) {
	var hosts []hostSpec
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		name, release, ok := strings.Cut(item, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("%q: expected NAME=VERSION:BUILD", item)
		}
		version, build, err := parseRelease(release)
		if err != nil {
			return nil, err
		}
		hosts = append(hosts, hostSpec{name, version, build})
	}
	return hosts, nil
}

// addHosts connects the hosts through the vSphere API, as an admin would: cluster hosts round-robin over the
// datacenter's clusters, standalone hosts into the host folder. It returns each host's reference by name.
func addHosts(ctx context.Context, u *url.URL, hosts, standalone []hostSpec) (map[string]types.ManagedObjectReference, error) {
	c, err := govmomi.NewClient(ctx, u, true)
	if err != nil {
		return nil, err
	}
	defer c.Logout(ctx) //nolint:errcheck

	finder := find.NewFinder(c.Client)
	dc, err := finder.DefaultDatacenter(ctx)
	if err != nil {
		return nil, err
	}
	finder.SetDatacenter(dc)
	folders, err := dc.Folders(ctx)
	if err != nil {
		return nil, err
	}
	var clusters []*object.ClusterComputeResource
	if len(hosts) > 0 {
		if clusters, err = finder.ClusterComputeResourceList(ctx, "*"); err != nil {
			return nil, err
		}
		// The finder lists them in no fixed order: sort, so round-robin is predictable (DC0_C0 first).
		sort.Slice(clusters, func(i, j int) bool { return clusters[i].Name() < clusters[j].Name() })
	}

	refs := make(map[string]types.ManagedObjectReference)
	add := func(name string, start func(types.HostConnectSpec) (*object.Task, error)) error {
		task, err := start(types.HostConnectSpec{HostName: name})
		if err != nil {
			return err
		}
		info, err := task.WaitForResult(ctx, nil)
		if err != nil {
			return fmt.Errorf("adding host %s: %w", name, err)
		}
		refs[name] = info.Result.(types.ManagedObjectReference)
		return nil
	}
	for i, h := range hosts {
		cluster := clusters[i%len(clusters)]
		if err := add(h.name, func(s types.HostConnectSpec) (*object.Task, error) {
			return cluster.AddHost(ctx, s, true, nil, nil)
		}); err != nil {
			return nil, err
		}
	}
	for _, h := range standalone {
		if err := add(h.name, func(s types.HostConnectSpec) (*object.Task, error) {
			return folders.HostFolder.AddStandaloneHost(ctx, s, true, nil, nil)
		}); err != nil {
			return nil, err
		}
	}
	return refs, nil
}

// setProduct makes a host report an ESXi release in summary.config.product (and config.product). The
// simulator's hosts share one default AboutInfo pointer, so each host gets its own copy.
func setProduct(ref types.ManagedObjectReference, h hostSpec) {
	host := simulator.Map.Get(ref).(*simulator.HostSystem)
	simulator.Map.WithLock(host, func() {
		about := *host.Summary.Config.Product
		about.Name = "VMware ESXi"
		about.FullName = fmt.Sprintf("VMware ESXi %s build-%s", h.version, h.build)
		about.Version = h.version
		about.Build = h.build
		host.Summary.Config.Product = &about
		if host.Config != nil {
			host.Config.Product = about
		}
	})
}

// tempDirs are the VMs' datastore directories, removed when the simulator stops.
var tempDirs []string

// vmSpec is one "name=host:toolsVersion" item of -vms.
type vmSpec struct {
	name, host, tools string
}

func parseVMs(s string) ([]vmSpec, error) {
	var vms []vmSpec
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		name, rest, ok := strings.Cut(item, "=")
		host, tools, ok2 := strings.Cut(rest, ":")
		if !ok || !ok2 || name == "" || host == "" {
			return nil, fmt.Errorf("%q: expected NAME=HOST:TOOLSVERSION", item)
		}
		vms = append(vms, vmSpec{name, host, tools})
	}
	return vms, nil
}

// addVMs creates each VM on its host, through the vSphere API, then sets the toolsVersion its guest reports
// (the simulator's guests report "0", Tools not installed).
func addVMs(ctx context.Context, u *url.URL, vms []vmSpec, refs map[string]types.ManagedObjectReference) error {
	c, err := govmomi.NewClient(ctx, u, true)
	if err != nil {
		return err
	}
	defer c.Logout(ctx) //nolint:errcheck
	finder := find.NewFinder(c.Client)
	dc, err := finder.DefaultDatacenter(ctx)
	if err != nil {
		return err
	}
	folders, err := dc.Folders(ctx)
	if err != nil {
		return err
	}
	stores := map[string]string{}
	for _, v := range vms {
		ref, ok := refs[v.host]
		if !ok {
			return fmt.Errorf("vm %s: no host %s", v.name, v.host)
		}
		host := object.NewHostSystem(c.Client, ref)
		if _, ok := stores[v.host]; !ok {
			dir, err := os.MkdirTemp("", "vcsim-ds-")
			if err != nil {
				return err
			}
			tempDirs = append(tempDirs, dir)
			dss, err := host.ConfigManager().DatastoreSystem(ctx)
			if err != nil {
				return err
			}
			name := "ds-" + filepath.Base(dir)
			if _, err := dss.CreateLocalDatastore(ctx, name, dir); err != nil {
				return err
			}
			stores[v.host] = name
		}
		pool, err := host.ResourcePool(ctx)
		if err != nil {
			return err
		}
		spec := types.VirtualMachineConfigSpec{
			Name:    v.name,
			GuestId: string(types.VirtualMachineGuestOsIdentifierOtherGuest),
			Files:   &types.VirtualMachineFileInfo{VmPathName: fmt.Sprintf("[%s]", stores[v.host])},
		}
		task, err := folders.VmFolder.CreateVM(ctx, spec, pool, host)
		if err != nil {
			return err
		}
		info, err := task.WaitForResult(ctx, nil)
		if err != nil {
			return fmt.Errorf("creating vm %s: %w", v.name, err)
		}
		vm := simulator.Map.Get(info.Result.(types.ManagedObjectReference)).(*simulator.VirtualMachine)
		simulator.Map.WithLock(vm, func() {
			vm.Guest.ToolsVersion = v.tools
			vm.Guest.ToolsStatus = types.VirtualMachineToolsStatusToolsOk
		})
	}
	return nil
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to serve on (port 0: the OS chooses)")
	hostsFlag := flag.String("hosts", "", "cluster hosts: NAME=VERSION:BUILD,... spread round-robin over the clusters")
	standaloneFlag := flag.String("standalone", "", "standalone hosts: NAME=VERSION:BUILD,...")
	clusters := flag.Int("clusters", 1, "number of clusters in the datacenter DC0 (named DC0_C0, DC0_C1, ...)")
	vcenter := flag.String("vcenter", "7.0.3:19234570", "the vCenter's own release: VERSION:BUILD")
	user := flag.String("user", "user", "the only user name accepted")
	password := flag.String("password", "pass", "the only password accepted")
	vmsFlag := flag.String("vms", "", "VMs: NAME=HOST:TOOLSVERSION,... (guest.toolsVersion, e.g. 12448 for Tools 12.5.0)")
	flag.Parse()

	hosts, err := parseHosts(*hostsFlag)
	if err != nil {
		log.Fatalf("-hosts: %v", err)
	}
	standalone, err := parseHosts(*standaloneFlag)
	if err != nil {
		log.Fatalf("-standalone: %v", err)
	}
	vcVersion, vcBuild, err := parseRelease(*vcenter)
	if err != nil {
		log.Fatalf("-vcenter: %v", err)
	}
	if len(hosts) > 0 && *clusters < 1 {
		log.Fatal("-hosts needs -clusters >= 1 (use -standalone for hosts outside clusters)")
	}

	// The VPX model, emptied down to one datacenter and its (host-less) clusters; hosts come next.
	model := simulator.VPX()
	model.Datacenter = 1
	model.Cluster = *clusters
	model.ClusterHost, model.Host = 0, 0
	model.Machine, model.Datastore, model.Portgroup = 0, 0, 0

	about := &model.ServiceContent.About
	about.FullName = fmt.Sprintf("VMware vCenter Server %s build-%s", vcVersion, vcBuild)
	about.Version = vcVersion
	about.Build = vcBuild

	if err := model.Create(); err != nil {
		log.Fatal(err)
	}
	defer model.Remove()

	// A URL user other than simulator.DefaultLogin makes the simulator check user and password: with the
	// default it accepts any non-empty pair, and a wrong password could not be tested.
	model.Service.Listen = &url.URL{Host: *listen, User: url.UserPassword(*user, *password)}
	model.Service.TLS = new(tls.Config) // https with httptest's self-signed certificate, as a real vCenter
	server := model.Service.NewServer()
	defer server.Close()

	refs, err := addHosts(context.Background(), server.URL, hosts, standalone)
	if err != nil {
		log.Fatal(err)
	}
	for _, h := range append(hosts, standalone...) {
		setProduct(refs[h.name], h)
	}
	vms, err := parseVMs(*vmsFlag)
	if err != nil {
		log.Fatalf("-vms: %v", err)
	}
	defer func() {
		for _, dir := range tempDirs {
			os.RemoveAll(dir) //nolint:errcheck
		}
	}()
	if err := addVMs(context.Background(), server.URL, vms, refs); err != nil {
		log.Fatal(err)
	}

	fmt.Println(server.URL.String()) // the "ready" line the tests wait for
	os.Stdout.Sync()                 //nolint:errcheck

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
}
