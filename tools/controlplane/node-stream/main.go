// node-stream: the harness node's streaming server, the part of a kubelet that `kubectl exec` reaches.
//
// kubectl asks the API server for pods/exec; the API server authorizes that (RBAC) and opens a stream to the
// pod's node, at the Node's address and kubelet port. This server is that end: it takes the API server's
// connection (TLS, the API server's kubelet client certificate, nothing else), speaks the kubelet's
// remotecommand protocols with Kubernetes' own implementation (k8s.io/cri-streaming), and runs the command
// in the pod's container as a container runtime does: in the container's mount namespace, as the user the
// container runs as, with the container's environment.
//
// The harness runs the containers (tests/harness/pod.ts); it tells this server where they are in a table
// file, one line per running container: "<namespace> <pod> <container> <pid>". A container without a line
// is not running, and an exec into it fails as the kubelet's does.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"
)

type container struct{ namespace, pod, name string }

// runtime runs commands in the harness's containers.
type runtime struct{ table string }

// pid is the main process of a running container, from the harness's table; 0 when it does not run.
func (r runtime) pid(c container) (int, error) {
	f, err := os.Open(r.table)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) == 4 && fields[0] == c.namespace && fields[1] == c.pod && fields[2] == c.name {
			return strconv.Atoi(fields[3])
		}
	}
	return 0, s.Err()
}

// identity is the real uid, gid and supplementary groups of a process, from /proc: the container's user.
func identity(pid int) (uid, gid string, groups []string, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "", "", nil, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 {
			if len(fields) == 1 && fields[0] == "Groups:" {
				groups = []string{}
			}
			continue
		}
		switch fields[0] {
		case "Uid:":
			uid = fields[1]
		case "Gid:":
			gid = fields[1]
		case "Groups:":
			groups = fields[1:]
		}
	}
	if uid == "" || gid == "" {
		return "", "", nil, fmt.Errorf("no Uid or Gid line in /proc/%d/status", pid)
	}
	return uid, gid, groups, nil
}

// ExecInContainer implements remotecommand.Executor.
func (r runtime) ExecInContainer(ctx context.Context, name string, uid string, containerName string, cmd []string, in io.Reader, out, errOut io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize, timeout time.Duration) error {
	c := ctx.Value(containerKey{}).(container)
	pid, err := r.pid(c)
	if err != nil {
		return err
	}
	if pid == 0 {
		return fmt.Errorf("container not found (%q)", c.name)
	}
	environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return fmt.Errorf("container %q: %w", c.name, err)
	}
	user, group, groups, err := identity(pid)
	if err != nil {
		return err
	}
	supplementary := "--clear-groups"
	if len(groups) > 0 {
		supplementary = "--groups=" + strings.Join(groups, ",")
	}
	args := []string{"-t", strconv.Itoa(pid), "-m", "--", "setpriv", "--reuid=" + user, "--regid=" + group, supplementary, "--", "env", "-i"}
	for _, kv := range strings.Split(strings.TrimRight(string(environ), "\x00"), "\x00") {
		if kv != "" {
			args = append(args, kv)
		}
	}
	args = append(args, cmd...)
	p := exec.CommandContext(ctx, "nsenter", args...)
	p.Dir = "/"
	if in != nil {
		p.Stdin = in
	}
	p.Stdout, p.Stderr = io.Discard, io.Discard
	if out != nil {
		p.Stdout = out
	}
	if errOut != nil {
		p.Stderr = errOut
	}
	err = p.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() >= 0 {
		return utilexec.CodeExitError{Err: err, Code: exit.ExitCode()}
	}
	return err
}

type containerKey struct{}

// route reads /exec/<namespace>/<pod>/<container> and /exec/<namespace>/<pod>/<uid>/<container>, the paths the
// API server asks a kubelet for.
func route(path string) (container, bool) {
	parts := strings.Split(strings.TrimPrefix(path, "/exec/"), "/")
	if !strings.HasPrefix(path, "/exec/") || (len(parts) != 3 && len(parts) != 4) {
		return container{}, false
	}
	for _, p := range parts {
		if p == "" {
			return container{}, false
		}
	}
	return container{namespace: parts[0], pod: parts[1], name: parts[len(parts)-1]}, true
}

func main() {
	address := flag.String("address", "127.0.0.1:10250", "where to listen")
	certFile := flag.String("tls-cert-file", "", "the node's serving certificate")
	keyFile := flag.String("tls-private-key-file", "", "its key")
	clientCA := flag.String("client-ca-file", "", "the CA of the API server's kubelet client certificate")
	clientCN := flag.String("client-common-name", "kube-apiserver-kubelet-client", "the one client this node takes streams from")
	table := flag.String("containers", "", "the harness's table of running containers")
	flag.Parse()
	if *certFile == "" || *keyFile == "" || *clientCA == "" || *table == "" {
		log.Fatal("node-stream: --tls-cert-file, --tls-private-key-file, --client-ca-file and --containers are required")
	}
	pem, err := os.ReadFile(*clientCA)
	if err != nil {
		log.Fatalf("node-stream: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		log.Fatalf("node-stream: no certificate in %s", *clientCA)
	}
	rt := runtime{table: *table}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.HandleFunc("/exec/", func(w http.ResponseWriter, req *http.Request) {
		// A kubelet authenticates the API server by its client certificate; only that identity may exec.
		if len(req.TLS.PeerCertificates) == 0 || req.TLS.PeerCertificates[0].Subject.CommonName != *clientCN {
			http.Error(w, "forbidden: only the API server may open streams to this node", http.StatusForbidden)
			return
		}
		c, ok := route(req.URL.Path)
		if !ok {
			http.NotFound(w, req)
			return
		}
		opts, err := remotecommand.NewOptions(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if opts.TTY {
			http.Error(w, "the harness node runs no terminals: exec without -t", http.StatusBadRequest)
			return
		}
		if pid, err := rt.pid(c); err != nil || pid == 0 {
			http.Error(w, fmt.Sprintf("container not found (%q)", c.name), http.StatusNotFound)
			return
		}
		cmd := req.URL.Query()["command"]
		if len(cmd) == 0 {
			http.Error(w, "exec needs a command", http.StatusBadRequest)
			return
		}
		log.Printf("exec %s/%s -c %s: %s (%d arguments)", c.namespace, c.pod, c.name, cmd[0], len(cmd)-1)
		ctx := context.WithValue(req.Context(), containerKey{}, c)
		remotecommand.ServeExec(w, req.WithContext(ctx), rt, c.pod, "", c.name, cmd, opts, 4*time.Hour, 30*time.Second, remotecommand.SupportedStreamingProtocols)
	})
	server := &http.Server{
		Addr:              *address,
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool, MinVersion: tls.VersionTLS12},
	}
	log.Printf("node-stream: listening on %s", *address)
	log.Fatal(server.ListenAndServeTLS(*certFile, *keyFile))
}
