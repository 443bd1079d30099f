//go:build flink

package localnode

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	corev1 "k8s.io/api/core/v1"
)

// identity is the user a container's process runs as.
type identity struct {
	uid, gid uint32
	groups   []uint32 // fsGroup and supplementalGroups
}

// containerIdentity resolves the container's user as the kubelet does: the container's
// securityContext over the pod's. nil means "as the image says", which locally is the node's own
// user. runAsNonRoot is enforced like the kubelet's check: a container that must not be root
// and has no non-zero runAsUser does not start (the local node cannot read an image's USER, and
// the Flink image's is root).
func containerIdentity(pod *corev1.Pod, c corev1.Container) (*identity, error) {
	var uid, gid *int64
	var nonRoot *bool
	psc := pod.Spec.SecurityContext
	if psc != nil {
		uid, gid, nonRoot = psc.RunAsUser, psc.RunAsGroup, psc.RunAsNonRoot
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			uid = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			gid = sc.RunAsGroup
		}
		if sc.RunAsNonRoot != nil {
			nonRoot = sc.RunAsNonRoot
		}
	}
	if nonRoot != nil && *nonRoot && (uid == nil || *uid == 0) {
		return nil, fmt.Errorf("container %s has runAsNonRoot and would run as root (runAsUser %s)", c.Name, describeUID(uid))
	}
	if uid == nil {
		return nil, nil
	}
	id := &identity{uid: uint32(*uid)}
	if gid != nil {
		id.gid = uint32(*gid)
	}
	if psc != nil {
		if psc.FSGroup != nil {
			id.groups = append(id.groups, uint32(*psc.FSGroup))
		}
		for _, g := range psc.SupplementalGroups {
			id.groups = append(id.groups, uint32(g))
		}
	}
	return id, nil
}

func describeUID(uid *int64) string {
	if uid == nil {
		return "unset, the image's user is root"
	}
	return fmt.Sprint(*uid)
}

// credential is the process credential for id; switching users needs the node to run as root,
// which the e2e suite requires (docs/e2e.md).
func (id *identity) credential() (*syscall.Credential, error) {
	if id == nil {
		return nil, nil
	}
	if euid := os.Geteuid(); euid != 0 && uint32(euid) != id.uid {
		return nil, fmt.Errorf("the local node runs as uid %d and cannot start a process as uid %d: run the suite as root", euid, id.uid)
	}
	return &syscall.Credential{Uid: id.uid, Gid: id.gid, Groups: id.groups}, nil
}

// checkReadable fails when a user could not reach path: every directory above it must let the
// user through. A checkout under a private home directory is the usual cause, and without this
// check the JVM would only say that it cannot find its main class.
func (id *identity) checkReadable(path string) error {
	if id == nil || id.uid == 0 {
		return nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	for dir := abs; ; dir = filepath.Dir(dir) {
		st, err := os.Stat(dir)
		if err != nil {
			return err
		}
		if !id.may(st, 0o1) {
			return fmt.Errorf("uid %d cannot reach %s: directory %s has mode %v; run the suite from a checkout every user can read", id.uid, path, dir, st.Mode().Perm())
		}
		if dir == filepath.Dir(dir) {
			return nil
		}
	}
}

// CheckReachable fails when uid, with no supplementary group, could not reach path (see
// checkReadable): the e2e suite checks where it keeps what Flink must read before it starts.
func CheckReachable(path string, uid uint32) error {
	return (&identity{uid: uid, gid: uid}).checkReadable(path)
}

// may reports whether id has the permission bit (1 execute, 2 write, 4 read) on a file.
func (id *identity) may(st fs.FileInfo, bit fs.FileMode) bool {
	sys := st.Sys().(*syscall.Stat_t)
	mode := st.Mode().Perm()
	switch {
	case sys.Uid == id.uid:
		return mode&(bit<<6) != 0
	case sys.Gid == id.gid || id.inGroup(sys.Gid):
		return mode&(bit<<3) != 0
	}
	return mode&bit != 0
}

func (id *identity) inGroup(gid uint32) bool {
	for _, g := range id.groups {
		if g == gid {
			return true
		}
	}
	return false
}

// applyFSGroup gives a volume's files to the pod's fsGroup, as the kubelet does: group owner
// fsGroup, directories group-writable with the setgid bit, files group-readable (and writable
// in an emptyDir).
func applyFSGroup(dir string, fsGroup int64, writable bool) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(p, -1, int(fsGroup)); err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := info.Mode().Perm() | 0o040
		if d.IsDir() {
			mode |= 0o070 | fs.ModeSetgid
		} else if writable {
			mode |= 0o020
		}
		return os.Chmod(p, mode)
	})
}
