// Package deploy has no code. Its tests keep the deployment files (Dockerfile,
// systemd unit and environment file, Kubernetes manifests, Prometheus rules,
// Grafana dashboard) consistent with the code and with each other, so that
// none of them can silently rot. Generated files are rewritten with
//
//	go test ./deploy -update
package deploy

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite the generated deploy files from their sources")

type obj = map[string]any

// ---- helpers ----

// readFile reads a file relative to the repository root.
func readFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// generated compares a generated file with its source-derived content, or
// rewrites it with -update.
func generated(t *testing.T, rel, want string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(filepath.Join("..", rel), []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got, err := os.ReadFile(filepath.Join("..", rel)); err != nil || string(got) != want {
		t.Errorf("%s is stale (or missing): run `go test ./deploy -update` and review the diff", rel)
	}
}

func yamlDocs(t *testing.T, rel string) []obj {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(readFile(t, rel)))
	var docs []obj
	for {
		var d obj
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
}

// at walks maps by key and lists by index; nil where the path ends.
func at(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, _ := v.(obj)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, str(x))
	}
	return out
}

// ---- configuration: README table -> env example ----

type setting struct{ flag, env, def, meaning string }

var rowRE = regexp.MustCompile("^\\| `--([a-z0-9-]+)[^`]*` \\| `(SRTPGW_[A-Z0-9_]+)` \\| `([^`]*)` \\| (.*) \\|$")

// readmeSettings parses the configuration table that cmd/srtpgw's
// TestREADMEConfigTable generates from the flag set.
func readmeSettings(t *testing.T) []setting {
	t.Helper()
	s := readFile(t, "README.md")
	i, j := strings.Index(s, "<!-- config-table:start -->"), strings.Index(s, "<!-- config-table:end -->")
	if i < 0 || j < i {
		t.Fatal("README.md lacks the config-table markers")
	}
	var out []setting
	for _, line := range strings.Split(s[i:j], "\n") {
		if m := rowRE.FindStringSubmatch(line); m != nil {
			out = append(out, setting{m[1], m[2], m[3], strings.ReplaceAll(m[4], `\|`, "|")})
		}
	}
	if len(out) < 20 {
		t.Fatalf("parsed only %d settings from the README table", len(out))
	}
	return out
}

// systemdAuditLog is --audit-log's default under srtpgw.service:
// $STATE_DIRECTORY/audit.jsonl with StateDirectory=srtpgw.
const systemdAuditLog = "/var/lib/srtpgw/audit.jsonl"

func envExample(settings []setting) string {
	var b strings.Builder
	b.WriteString(`# /etc/srtpgw/srtpgw.env: settings for srtpgw.service (EnvironmentFile=).
#
# Every srtpgw flag has an SRTPGW_* variable. Each is listed below, commented
# out, with its built-in default: uncomment and change only what your site
# needs. Format: systemd EnvironmentFile, KEY=VALUE per line, no "export", no
# shell expansion. Lists (SRTPGW_INTERFACE, SRTPGW_NG_ALLOW) are comma-separated.
#
# A clinic edge host with the LAN on 10.0.0.2, the WAN on 192.0.2.10 and
# Kamailio on the same host needs only:
#   SRTPGW_INTERFACE=lan/10.0.0.2,wan/192.0.2.10
# and, for Prometheus on another host, the HTTP listener on the management
# address with a token, handed over as a systemd credential (DynamicUser=
# cannot read a root-owned 0600 file; the credential is 0400 and owned by the
# service user). In a drop-in (systemctl edit srtpgw):
#   [Service]
#   LoadCredential=http-token:/etc/srtpgw/http-token
# and here:
#   SRTPGW_LISTEN_HTTP=10.0.0.2:9323
#   SRTPGW_HTTP_TOKEN_FILE=/run/credentials/srtpgw.service/http-token
#
# GENERATED from the configuration table in README.md (which is generated from
# the flag definitions) by: go test ./deploy -update. Do not edit by hand.
`)
	for _, s := range settings {
		def := s.def
		switch def {
		case "(empty)":
			def = ""
		case "see below":
			def = systemdAuditLog
		}
		fmt.Fprintf(&b, "\n# --%s: %s\n", s.flag, s.meaning)
		if s.flag == "audit-log" {
			b.WriteString("# Default under systemd: $STATE_DIRECTORY/audit.jsonl (StateDirectory=srtpgw).\n")
		}
		fmt.Fprintf(&b, "#%s=%s\n", s.env, def)
	}
	return b.String()
}

func TestEnvExample(t *testing.T) {
	generated(t, "deploy/systemd/srtpgw.env.example", envExample(readmeSettings(t)))
}

var envNameRE = regexp.MustCompile(`\bSRTPGW_[A-Z0-9_]+`)

// TestEnvNamesKnown: every SRTPGW_* name in the deployment files is a real
// setting, so a renamed flag cannot leave a dead variable behind.
func TestEnvNamesKnown(t *testing.T) {
	known := map[string]bool{}
	for _, s := range readmeSettings(t) {
		known[s.env] = true
	}
	files := []string{"Dockerfile", "deploy/README.md", "deploy/systemd/srtpgw.env.example",
		"deploy/prometheus/prometheus.example.yml"}
	k8s, _ := filepath.Glob("../deploy/kubernetes/*")
	for _, f := range k8s {
		files = append(files, strings.TrimPrefix(f, "../"))
	}
	for _, f := range files {
		for _, name := range envNameRE.FindAllString(readFile(t, f), -1) {
			if !known[name] {
				t.Errorf("%s names %s, which is not in README.md's configuration table", f, name)
			}
		}
	}
}

// ---- systemd ----

func unitDirectives(t *testing.T) map[string][]string {
	d := map[string][]string{}
	for _, line := range strings.Split(readFile(t, "deploy/systemd/srtpgw.service"), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok && !strings.HasPrefix(line, "#") {
			d[k] = append(d[k], v)
		}
	}
	return d
}

func TestSystemdUnit(t *testing.T) {
	d := unitDirectives(t)
	for _, tc := range [][2]string{
		{"ExecStart", "/usr/local/bin/srtpgw"}, {"EnvironmentFile", "-/etc/srtpgw/srtpgw.env"},
		{"DynamicUser", "yes"}, {"StateDirectory", "srtpgw"}, {"UMask", "0077"},
		{"NoNewPrivileges", "yes"}, {"ProtectSystem", "strict"}, {"ProtectHome", "yes"},
		{"PrivateTmp", "yes"}, {"PrivateDevices", "yes"}, {"CapabilityBoundingSet", ""},
		{"AmbientCapabilities", ""}, {"LimitCORE", "0"},
		{"RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"}, {"SystemCallArchitectures", "native"},
		{"MemoryDenyWriteExecute", "yes"}, {"LockPersonality", "yes"}, {"RestrictRealtime", "yes"},
		{"RestrictNamespaces", "yes"}, {"ProtectKernelTunables", "yes"}, {"ProtectKernelModules", "yes"},
		{"ProtectKernelLogs", "yes"}, {"ProtectControlGroups", "yes"}, {"ProtectClock", "yes"},
		{"ProtectHostname", "yes"}, {"Restart", "on-failure"}, {"KillSignal", "SIGTERM"},
		// srtpgw's own shutdown bound is 15 s (cmd/srtpgw shutdownBound).
		{"TimeoutStopSec", "20"},
	} {
		if got := d[tc[0]]; !slices.Equal(got, []string{tc[1]}) {
			t.Errorf("srtpgw.service: %s=%q, want exactly %s=%s", tc[0], got, tc[0], tc[1])
		}
	}
	if !slices.Contains(d["SystemCallFilter"], "@system-service") {
		t.Errorf("SystemCallFilter=%q lacks @system-service", d["SystemCallFilter"])
	}
	// Writable: the state directory (the call log and keys) and nothing else.
	for _, p := range d["ReadWritePaths"] {
		if strings.TrimPrefix(p, "-") != path.Dir(systemdAuditLog) {
			t.Errorf("ReadWritePaths=%s: only %s may be writable", p, path.Dir(systemdAuditLog))
		}
	}
	for _, k := range []string{"Environment", "User", "ExecStartPre"} {
		if len(d[k]) > 0 {
			t.Errorf("srtpgw.service sets %s=; settings belong in srtpgw.env, identity is DynamicUser=", k)
		}
	}
}

// ---- Dockerfile and the equivalent build ----

// dockerfile returns the Dockerfile's instructions, continuation lines joined.
func dockerfile(t *testing.T) []string {
	var out []string
	cur := ""
	for _, line := range strings.Split(readFile(t, "Dockerfile"), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") || strings.TrimSpace(line) == "" {
			continue
		}
		if s, ok := strings.CutSuffix(line, `\`); ok {
			cur += s
			continue
		}
		out = append(out, strings.Join(strings.Fields(cur+line), " "))
		cur = ""
	}
	return out
}

// instr returns the arguments of every instruction named name.
func instr(lines []string, name string) []string {
	var out []string
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(l, name+" "); ok {
			out = append(out, rest)
		}
	}
	return out
}

func TestDockerfile(t *testing.T) {
	df := dockerfile(t)
	froms := instr(df, "FROM")
	if len(froms) < 2 || froms[len(froms)-1] != "gcr.io/distroless/static-debian12:nonroot" {
		t.Errorf("FROM %q: want a build stage and a distroless static nonroot runtime", froms)
	}
	goMod := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(readFile(t, "go.mod"))
	if !slices.Contains(instr(df, "ARG"), "GO_VERSION="+goMod[1]) {
		t.Errorf("Dockerfile ARG GO_VERSION differs from go.mod's go %s", goMod[1])
	}
	execForm := map[string][]string{
		"ENTRYPOINT": {"/srtpgw"},
		"VOLUME":     {"/var/lib/srtpgw"},
	}
	for name, want := range execForm {
		var got []string
		if v := instr(df, name); len(v) != 1 || json.Unmarshal([]byte(v[0]), &got) != nil || !slices.Equal(got, want) {
			t.Errorf("%s %q, want the exec/JSON form %q", name, v, want)
		}
	}
	hc := instr(df, "HEALTHCHECK")
	var hcCmd []string
	if len(hc) != 1 || !strings.Contains(hc[0], " CMD [") ||
		json.Unmarshal([]byte(hc[0][strings.Index(hc[0], " CMD [")+5:]), &hcCmd) != nil ||
		!slices.Equal(hcCmd, []string{"/srtpgw", "healthcheck"}) {
		t.Errorf("HEALTHCHECK %q: want exec form CMD [\"/srtpgw\", \"healthcheck\"] (no shell in distroless)", hc)
	}
	if u := instr(df, "USER"); !slices.Equal(u, []string{"65532:65532"}) {
		t.Errorf("USER %q, want 65532:65532", u)
	}
	if !slices.Contains(instr(df, "ENV"), "SRTPGW_AUDIT_LOG="+systemdAuditLog) {
		t.Errorf("the image must put the call log in its volume: ENV SRTPGW_AUDIT_LOG=%s", systemdAuditLog)
	}
	labels := strings.Join(instr(df, "LABEL"), " ")
	for _, l := range []string{"version=\"${VERSION}\"", "source=", "title=", "description=", "licenses=", "revision="} {
		if !strings.Contains(labels, "org.opencontainers.image."+l) {
			t.Errorf("LABEL lacks org.opencontainers.image.%s", l)
		}
	}
	env, run := dockerBuild(t)
	for _, want := range []string{"CGO_ENABLED=0", "GOFLAGS=-buildvcs=false"} {
		if !slices.Contains(strings.Fields(env), want) {
			t.Errorf("build ENV %q lacks %s", env, want)
		}
	}
	for _, want := range []string{" go build -trimpath ", ` -ldflags "-s -w -X main.version=${VERSION}" `, " -o /out/srtpgw ./cmd/srtpgw"} {
		if !strings.Contains(run, want) {
			t.Errorf("build RUN %q lacks %q", run, want)
		}
	}
}

// dockerBuild returns the build stage's ENV CGO_ENABLED line and go build
// RUN line, as written (the script must use exactly these).
func dockerBuild(t *testing.T) (env, run string) {
	var envs, runs []string
	for _, l := range strings.Split(readFile(t, "Dockerfile"), "\n") {
		if s, ok := strings.CutPrefix(l, "ENV CGO_ENABLED="); ok {
			envs = append(envs, "CGO_ENABLED="+s)
		}
		if s, ok := strings.CutPrefix(l, "RUN "); ok && strings.Contains(s, "go build ") {
			runs = append(runs, s)
		}
	}
	if len(envs) != 1 || len(runs) != 1 {
		t.Fatalf("Dockerfile: want one ENV CGO_ENABLED= line and one RUN ... go build line, got %q %q", envs, runs)
	}
	return envs[0], runs[0]
}

// TestDockerEquivalentBuildFlags: the script builds with the Dockerfile's
// exact environment and command (it runs them itself and checks the binary;
// here we check it reads them unchanged).
func TestDockerEquivalentBuildFlags(t *testing.T) {
	env, run := dockerBuild(t)
	out, err := exec.Command("bash", "docker-equivalent-build.sh", "--print").CombinedOutput()
	if err != nil {
		t.Fatalf("docker-equivalent-build.sh --print: %v\n%s", err, out)
	}
	if want := "env: " + env + "\nrun: " + run + "\n"; string(out) != want {
		t.Errorf("docker-equivalent-build.sh uses\n%s\nthe Dockerfile has\n%s", out, want)
	}
}

func TestShellScriptsParse(t *testing.T) {
	for _, f := range []string{"docker-equivalent-build.sh", "systemd/verify.sh", "prometheus/check.sh"} {
		if out, err := exec.Command("bash", "-n", f).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", f, err, out)
		}
		if fi, err := os.Stat(f); err != nil || fi.Mode()&0o111 == 0 {
			t.Errorf("%s is not executable", f)
		}
	}
}

// ---- Kubernetes ----

// manifests returns every object in deploy/kubernetes by "Kind/name".
func manifests(t *testing.T) map[string]obj {
	t.Helper()
	files, _ := filepath.Glob("kubernetes/*.yaml")
	objs := map[string]obj{}
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		for _, d := range yamlDocs(t, "deploy/"+f) {
			objs[str(d["kind"])+"/"+str(at(d, "metadata", "name"))] = d
		}
	}
	return objs
}

func named(list any, name string) obj {
	for _, x := range list.([]any) {
		if str(at(x, "name")) == name {
			return x.(obj)
		}
	}
	return nil
}

func envValue(c obj, name string) string {
	if e := named(at(c, "env"), name); e != nil {
		return str(e["value"])
	}
	return ""
}

func milliCPU(q string) int {
	if n, ok := strings.CutSuffix(q, "m"); ok {
		v, _ := strconv.Atoi(n)
		return v
	}
	f, _ := strconv.ParseFloat(q, 64)
	return int(f * 1000)
}

func mebibytes(q string) int {
	for suffix, mul := range map[string]int{"Mi": 1, "Gi": 1024} {
		if n, ok := strings.CutSuffix(q, suffix); ok {
			v, _ := strconv.Atoi(n)
			return v * mul
		}
	}
	return 0
}

func TestKubernetesPod(t *testing.T) {
	objs := manifests(t)
	spec := at(objs["Deployment/clinic-edge"], "spec", "template", "spec")
	if spec == nil {
		t.Fatal("no Deployment clinic-edge")
	}
	if at(spec, "hostNetwork") != true {
		t.Error("hostNetwork must be true: RTP port ranges and source checks need the node's addresses")
	}
	for k, want := range map[string]any{"runAsNonRoot": true, "runAsUser": 65532, "fsGroup": 65532,
		"fsGroupChangePolicy": "OnRootMismatch"} {
		if got := at(spec, "securityContext", k); got != want {
			t.Errorf("pod securityContext.%s = %v, want %v", k, got, want)
		}
	}
	all := append(slices.Clone(at(spec, "initContainers").([]any)), at(spec, "containers").([]any)...)
	for _, c := range all {
		name, sc := str(at(c, "name")), at(c, "securityContext")
		for k, want := range map[string]any{"runAsNonRoot": true, "runAsUser": 65532,
			"readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false} {
			if got := at(sc, k); got != want {
				t.Errorf("container %s: securityContext.%s = %v, want %v", name, k, got, want)
			}
		}
		if d := at(sc, "capabilities", "drop"); d == nil || !slices.Equal(strs(d), []string{"ALL"}) {
			t.Errorf("container %s: capabilities.drop = %v, want [ALL]", name, d)
		}
		if s := str(at(sc, "seccompProfile", "type")); s != "RuntimeDefault" {
			t.Errorf("container %s: seccompProfile %q, want RuntimeDefault", name, s)
		}
		for _, r := range []string{"requests.cpu", "requests.memory", "limits.memory"} {
			k, v, _ := strings.Cut(r, ".")
			if at(c, "resources", k, v) == nil {
				t.Errorf("container %s: resources.%s not set", name, r)
			}
		}
	}
	gw := named(at(spec, "containers"), "srtpgw")
	httpPort := "9323"
	for probe, path := range map[string]string{"readinessProbe": "/readyz", "livenessProbe": "/healthz"} {
		want := []string{"/srtpgw", "healthcheck", "http://127.0.0.1:" + httpPort + path}
		if c := at(gw, probe, "exec", "command"); c == nil || !slices.Equal(strs(c), want) {
			t.Errorf("srtpgw %s: exec %v, want %q", probe, c, want)
		}
	}
	if l := envValue(gw, "SRTPGW_LISTEN_HTTP"); !strings.HasSuffix(l, ":"+httpPort) || l == "127.0.0.1:"+httpPort {
		t.Errorf("SRTPGW_LISTEN_HTTP=%q: Prometheus must reach it on the pod IP and the probes on 127.0.0.1:%s", l, httpPort)
	}
	// The call log: SRTPGW_AUDIT_LOG lives on the PersistentVolumeClaim.
	logDir := path.Dir(envValue(gw, "SRTPGW_AUDIT_LOG"))
	var logVolume string
	for _, m := range at(gw, "volumeMounts").([]any) {
		if str(at(m, "mountPath")) == logDir {
			logVolume = str(at(m, "name"))
		}
	}
	claim := str(at(named(at(spec, "volumes"), logVolume), "persistentVolumeClaim", "claimName"))
	if logDir != "/var/lib/srtpgw" || claim == "" || objs["PersistentVolumeClaim/"+claim] == nil {
		t.Errorf("call log %q: want /var/lib/srtpgw mounted from a PersistentVolumeClaim in the manifests (volume %q, claim %q)",
			envValue(gw, "SRTPGW_AUDIT_LOG"), logVolume, claim)
	}
	// ng stays on loopback, and Kamailio's rtpengine_sock points at it.
	ng := envValue(gw, "SRTPGW_LISTEN_NG")
	if !strings.HasPrefix(ng, "127.0.0.1:") {
		t.Errorf("SRTPGW_LISTEN_NG=%q: ng has no authentication, keep it on 127.0.0.1", ng)
	}
	kam := named(at(spec, "containers"), "kamailio")
	if sock := `RTPENGINE_SOCK="udp:` + ng + `"`; !slices.Contains(strs(at(kam, "args")), sock) {
		t.Errorf("kamailio args %v lack -A %s", at(kam, "args"), sock)
	}
	site := at(objs["ConfigMap/srtpgw-env"], "data").(obj)
	for _, k := range []string{"SRTPGW_LISTEN_NG", "SRTPGW_LISTEN_HTTP", "SRTPGW_HTTP_TOKEN_FILE", "SRTPGW_AUDIT_LOG"} {
		if _, ok := site[k]; ok {
			t.Errorf("ConfigMap srtpgw-env sets %s, which deployment.yaml fixes (and overrides)", k)
		}
	}
	// Sizing: requests cover the working figures for --max-sessions
	// (0.1 core and 8 MiB per 100 calls, 32 MiB base: bench/RESULTS.md).
	n, err := strconv.Atoi(str(site["SRTPGW_MAX_SESSIONS"]))
	if err != nil || n <= 0 {
		t.Fatalf("srtpgw-env must set SRTPGW_MAX_SESSIONS (the sizing depends on it): %v", err)
	}
	if got := milliCPU(str(at(gw, "resources", "requests", "cpu"))); got < n {
		t.Errorf("cpu request %dm < %dm for %d sessions", got, n, n)
	}
	if got, want := mebibytes(str(at(gw, "resources", "requests", "memory"))), 32+8*n/100; got < want {
		t.Errorf("memory request %dMi < %dMi for %d sessions", got, want, n)
	}
	lo, _ := strconv.Atoi(str(site["SRTPGW_PORT_MIN"]))
	hi, _ := strconv.Atoi(str(site["SRTPGW_PORT_MAX"]))
	if pairs := (hi - lo + 1) / 2; pairs < 2*n {
		t.Errorf("ports %d-%d give %d pairs per interface, want >= 2x %d sessions (quarantine)", lo, hi, pairs, n)
	}
	// The bearer token: Secret -> init container -> 0600 file -> srtpgw.
	tokenFile := envValue(gw, "SRTPGW_HTTP_TOKEN_FILE")
	init := named(at(spec, "initContainers"), "metrics-token")
	cmd := strs(at(init, "command"))
	if len(cmd) < 2 || cmd[len(cmd)-1] != tokenFile || !slices.Contains(cmd, "0600") {
		t.Errorf("init container %v must install the token as %s, mode 0600", cmd, tokenFile)
	}
	secret := at(named(at(spec, "volumes"), "metrics-token-secret"), "secret")
	if str(at(secret, "secretName")) != "srtpgw-metrics-token" || at(secret, "defaultMode") != 0o440 {
		t.Errorf("metrics-token-secret volume %v: want secret srtpgw-metrics-token, defaultMode 0440", secret)
	}
}

func TestKubernetesMonitoring(t *testing.T) {
	objs := manifests(t)
	sm, svc := objs["ServiceMonitor/srtpgw"], objs["Service/srtpgw"]
	if str(sm["apiVersion"]) != "monitoring.coreos.com/v1" || svc == nil {
		t.Fatal("want a monitoring.coreos.com/v1 ServiceMonitor srtpgw and a Service srtpgw")
	}
	ep := at(sm, "spec", "endpoints", 0)
	if at(ep, "authorization", "type") != "Bearer" || at(ep, "authorization", "credentials", "name") != "srtpgw-metrics-token" ||
		at(ep, "authorization", "credentials", "key") != "token" || at(ep, "path") != "/metrics" {
		t.Errorf("ServiceMonitor endpoint %v: want /metrics with a Bearer token from secret srtpgw-metrics-token, key token", ep)
	}
	if p := named(at(svc, "spec", "ports"), str(at(ep, "port"))); p == nil || str(p["targetPort"]) != "9323" {
		t.Errorf("ServiceMonitor port %v is not a Service port targeting 9323", at(ep, "port"))
	}
	podLabels := at(objs["Deployment/clinic-edge"], "spec", "template", "metadata", "labels").(obj)
	for k, v := range at(svc, "spec", "selector").(obj) {
		if podLabels[k] != v {
			t.Errorf("Service selector %s=%v does not select the pod", k, v)
		}
	}
	// The alert rules match job="srtpgw": the job label comes from the Service.
	if job := at(svc, "metadata", "labels", str(at(sm, "spec", "jobLabel"))); job != "srtpgw" {
		t.Errorf("scraped job label would be %v, the alert rules expect srtpgw", job)
	}
}

func TestKustomization(t *testing.T) {
	k := yamlDocs(t, "deploy/kubernetes/kustomization.yaml")[0]
	files, _ := filepath.Glob("kubernetes/*.yaml")
	var want []string
	for _, f := range files {
		if b := filepath.Base(f); b != "kustomization.yaml" {
			want = append(want, b)
		}
	}
	got := strs(k["resources"])
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("kustomization.yaml resources %q, want every manifest %q", got, want)
	}
}

// TestKamailioConfigMap: the pod's Kamailio runs deploy/kamailio/kamailio.cfg
// byte for byte (the one the interop tests exercise), with site values as -A
// defines.
func TestKamailioConfigMap(t *testing.T) {
	cfg := readFile(t, "deploy/kamailio/kamailio.cfg")
	var b strings.Builder
	b.WriteString(`# GENERATED from deploy/kamailio/kamailio.cfg by: go test ./deploy -update
# Do not edit; site values are -A defines in deployment.yaml (kamailio-site in site.yaml).
apiVersion: v1
kind: ConfigMap
metadata:
  name: kamailio-config
  namespace: srtpgw
  labels:
    app.kubernetes.io/name: srtpgw
data:
  kamailio.cfg: |
`)
	for _, line := range strings.SplitAfter(cfg, "\n") {
		if strings.TrimSpace(line) != "" {
			b.WriteString("    ")
		}
		b.WriteString(line)
	}
	generated(t, "deploy/kubernetes/kamailio-config.yaml", b.String())
	if !*update {
		if got := str(at(manifests(t)["ConfigMap/kamailio-config"], "data", "kamailio.cfg")); got != cfg {
			t.Error("ConfigMap kamailio-config does not decode to deploy/kamailio/kamailio.cfg")
		}
	}
	if !strings.Contains(cfg, `#!define RTPENGINE_SOCK "udp:127.0.0.1:2223"`) {
		t.Error("kamailio.cfg's default RTPENGINE_SOCK is no longer udp:127.0.0.1:2223")
	}
}

// ---- metrics: alert rules and the dashboard ----

// goldenMetrics returns name -> type from relay/metrics/testdata/metrics.golden.
func goldenMetrics(t *testing.T) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(readFile(t, "relay/metrics/testdata/metrics.golden"), "\n") {
		if f := strings.Fields(l); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			m[f[2]] = f[3]
		}
	}
	if len(m) < 20 {
		t.Fatalf("only %d metrics in metrics.golden", len(m))
	}
	return m
}

// notInGolden: series from outside srtpgw's collector that queries may use.
// up is Prometheus' own; the process_* collector is registered by
// relay/metrics.NewRegistry but left out of the golden file.
var notInGolden = map[string]bool{"up": true, "process_resident_memory_bytes": true, "process_cpu_seconds_total": true}

var promqlKeywords = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true,
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"inf": true, "nan": true, "atan2": true,
	// Aggregations can put a grouping clause before their "(".
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
	"limitk": true, "limit_ratio": true}

// metricNames returns the metric names a PromQL expression selects: the
// identifiers outside label matchers, ranges and strings that are neither a
// function call, a keyword, nor a grouping label list.
func metricNames(expr string) []string {
	var names []string
	skipList := false
	for i := 0; i < len(expr); {
		c := expr[i]
		if skipList && c != '(' && c != ' ' && c != '\n' && c != '\t' {
			skipList = false // group_left without a label list
		}
		switch {
		case c == '{' || c == '[' || c == '"' || c == '\'': // matchers, ranges, strings
			end := map[byte]byte{'{': '}', '[': ']', '"': '"', '\'': '\''}[c]
			for i++; i < len(expr) && expr[i] != end; i++ {
				if expr[i] == '\\' {
					i++
				}
			}
			i++
		case c == '(' && skipList: // by (a, b): labels, not metrics
			i += strings.IndexByte(expr[i:], ')') + 1
			skipList = false
		case c >= '0' && c <= '9' || c == '.' || c == '$': // numbers, durations, $vars
			for i++; i < len(expr) && (isIdent(expr[i]) || expr[i] == '.'); i++ {
			}
		case isIdent(c):
			j := i
			for j < len(expr) && isIdent(expr[j]) {
				j++
			}
			word, next := expr[i:j], strings.TrimLeft(expr[j:], " \n\t")
			switch {
			case promqlKeywords[strings.ToLower(word)]:
				switch strings.ToLower(word) {
				case "by", "without", "on", "ignoring", "group_left", "group_right":
					skipList = true
				}
			case !strings.HasPrefix(next, "("):
				names = append(names, word)
			}
			i = j
		default:
			i++
		}
	}
	return names
}

func isIdent(c byte) bool {
	return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func TestMetricNamesExtraction(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`sum by (job, instance) (rate(a_total{reason=~"auth|replay"}[5m])) > 1`, []string{"a_total"}},
		{`time() - b_seconds > 900`, []string{"b_seconds"}},
		{`x / on (i) group_left (v) y offset 5m`, []string{"x", "y"}},
		{`x / on(i) group_left y`, []string{"x", "y"}},
		{`histogram_quantile(0.95, sum by (le) (rate(h_bucket{job=~"$job"}[$__rate_interval])))`, []string{"h_bucket"}},
		{`absent(up{job="srtpgw"})`, []string{"up"}},
		{"p > bool 0 unless\nq", []string{"p", "q"}},
		{`8 * sum without (kind) (c{l="}"})`, []string{"c"}},
	} {
		if got := metricNames(tc.expr); !slices.Equal(got, tc.want) {
			t.Errorf("metricNames(%q) = %q, want %q", tc.expr, got, tc.want)
		}
	}
}

// queries returns every PromQL expression of the alert rules and the dashboard.
func queries(t *testing.T) (rules map[string]string, dash []string) {
	rules = map[string]string{}
	for _, g := range yamlDocs(t, "deploy/prometheus/srtpgw.rules.yml")[0]["groups"].([]any) {
		for _, r := range at(g, "rules").([]any) {
			rules[str(at(r, "alert"))] = str(at(r, "expr"))
		}
	}
	var d struct {
		Panels []struct {
			ID      int
			Title   string
			Targets []struct{ Expr, RefID string }
		}
	}
	if err := json.Unmarshal([]byte(readFile(t, "deploy/grafana/srtpgw.json")), &d); err != nil {
		t.Fatal(err)
	}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			dash = append(dash, tg.Expr)
		}
	}
	return rules, dash
}

func TestMetricNamesExist(t *testing.T) {
	known := goldenMetrics(t)
	exists := func(n string) bool {
		if known[n] != "" || notInGolden[n] {
			return true
		}
		for _, s := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(n, s); ok && known[b] == "histogram" {
				return true
			}
		}
		return false
	}
	rules, dash := queries(t)
	used := map[string]bool{}
	check := func(where, expr string) {
		names := metricNames(expr)
		if len(names) == 0 {
			t.Errorf("%s: no metric in %q", where, expr)
		}
		for _, n := range names {
			used[n] = true
			if !exists(n) {
				t.Errorf("%s queries %s, which relay/metrics/testdata/metrics.golden does not have", where, n)
			}
		}
	}
	for a, e := range rules {
		check("alert "+a, e)
	}
	for _, e := range dash {
		check("deploy/grafana/srtpgw.json", e)
	}
	// What the operator must be told about, at the least.
	for _, n := range []string{"srtpgw_upstream_plaintext_packets_total", "srtpgw_dtls_handshakes_total",
		"srtpgw_packets_dropped_total", "srtpgw_ports_free", "srtpgw_ports_capacity", "srtpgw_audit_healthy",
		"srtpgw_audit_last_checkpoint_timestamp_seconds", "up", "srtpgw_ng_requests_total",
		"srtpgw_calls_active", "srtpgw_calls_started_total", "srtpgw_calls_total", "srtpgw_packets_total",
		"srtpgw_bytes_total", "srtpgw_dtls_handshake_duration_seconds_bucket", "srtpgw_ports_quarantined",
		"srtpgw_ng_request_duration_seconds_bucket"} {
		if !used[n] {
			t.Errorf("neither the alerts nor the dashboard use %s", n)
		}
	}
}

// TestAlertRuleTests: every alert has a promtool test case that fires and
// one that stays quiet (check.sh runs them).
func TestAlertRuleTests(t *testing.T) {
	rules, _ := queries(t)
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range yamlDocs(t, "deploy/prometheus/srtpgw.rules.test.yml")[0]["tests"].([]any) {
		for _, a := range at(tc, "alert_rule_test").([]any) {
			name := str(at(a, "alertname"))
			if exp, _ := at(a, "exp_alerts").([]any); len(exp) > 0 {
				fires[name] = true
			} else {
				quiet[name] = true
			}
		}
	}
	for a := range rules {
		if !fires[a] || !quiet[a] {
			t.Errorf("alert %s: firing test %v, not-firing test %v; want both", a, fires[a], quiet[a])
		}
	}
}

// TestPrometheusRuleCR: the operator's PrometheusRule carries the rules file
// verbatim.
func TestPrometheusRuleCR(t *testing.T) {
	rules := readFile(t, "deploy/prometheus/srtpgw.rules.yml")
	i := strings.Index(rules, "\ngroups:\n")
	if i < 0 {
		t.Fatal("srtpgw.rules.yml: no top-level groups:")
	}
	var b strings.Builder
	b.WriteString(`# GENERATED from deploy/prometheus/srtpgw.rules.yml by: go test ./deploy -update
# The alert rules for the Prometheus Operator (needs its CRDs; drop this file
# from kustomization.yaml without them). Label it as your Prometheus'
# ruleSelector expects.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: srtpgw
  namespace: srtpgw
  labels:
    app.kubernetes.io/name: srtpgw
spec:
`)
	for _, line := range strings.SplitAfter(rules[i+1:], "\n") {
		if strings.TrimSpace(line) != "" {
			b.WriteString("  ")
		}
		b.WriteString(line)
	}
	generated(t, "deploy/kubernetes/prometheusrule.yaml", b.String())
}

// TestDashboard: the plaintext stat is there and turns red at 1; every query
// is written out as a recording rule so that promtool (check.sh) parses it.
func TestDashboard(t *testing.T) {
	dash := readFile(t, "deploy/grafana/srtpgw.json")
	var d struct {
		UID    string
		Panels []struct {
			ID          int
			Type, Title string
			Targets     []struct{ Expr, RefID string }
			FieldConfig struct {
				Defaults struct {
					Thresholds struct {
						Steps []struct {
							Color string
							Value *float64
						}
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(dash), &d); err != nil || d.UID != "srtpgw" {
		t.Fatalf("srtpgw.json: %v (uid %q)", err, d.UID)
	}
	plaintextStat := false
	var b strings.Builder
	b.WriteString("# GENERATED from deploy/grafana/srtpgw.json by: go test ./deploy -update\n" +
		"# Every dashboard query as a recording rule, only so that `promtool check rules`\n" +
		"# (deploy/prometheus/check.sh) parses the PromQL. Not for a real Prometheus.\n" +
		"groups:\n  - name: grafana-srtpgw-json\n    rules:\n")
	vars := strings.NewReplacer("$__rate_interval", "5m", "$job", ".*", "$instance", ".*")
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			fmt.Fprintf(&b, "      - record: grafana:panel_%d:%s\n        expr: %s\n", p.ID, strings.ToLower(tg.RefID), strconv.Quote(vars.Replace(tg.Expr)))
			steps := p.FieldConfig.Defaults.Thresholds.Steps
			if p.Type == "stat" && strings.Contains(tg.Expr, "srtpgw_upstream_plaintext_packets_total") && len(steps) == 2 &&
				steps[0].Color == "green" && steps[1].Color == "red" && steps[1].Value != nil && *steps[1].Value == 1 {
				plaintextStat = true
			}
		}
	}
	if !plaintextStat {
		t.Error("the dashboard needs a stat of srtpgw_upstream_plaintext_packets_total, green at 0, red from 1")
	}
	generated(t, "deploy/testdata/grafana-exprs.rules.yml", b.String())
}
