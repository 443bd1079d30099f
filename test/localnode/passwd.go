//go:build flink

package localnode

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
)

// imageUID is the user the official Flink image names flink; the restricted defaults run as it.
const imageUID = 9999

// nssWrapperPaths are where Debian's libnss-wrapper package puts the library.
var nssWrapperPaths = []string{"/usr/lib/x86_64-linux-gnu/libnss_wrapper.so", "/usr/lib/aarch64-linux-gnu/libnss_wrapper.so", "/usr/lib/libnss_wrapper.so"}

// NSSWrapper is the nss_wrapper library on this machine, "" without it.
func NSSWrapper() string {
	for _, p := range nssWrapperPaths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// imageUserEnv gives a process running as a uid this machine does not know the user database
// of the image, where that uid has a name: the official image has flink (9999) in /etc/passwd,
// and Hadoop's login in Flink's S3 and other Hadoop file systems fails for a uid without a name
// ("invalid null input: name"). nss_wrapper answers the process's getpwuid from a file in the
// pod directory instead of the host's /etc/passwd, which stays untouched.
func (r *podRunner) imageUserEnv(id *identity, preload string, rw *rewrites) ([]string, error) {
	if id == nil {
		return nil, nil
	}
	if _, err := user.LookupId(strconv.Itoa(int(id.uid))); err == nil {
		return nil, nil
	}
	lib := NSSWrapper()
	if lib == "" {
		rw.add(fmt.Sprintf("uid %d has no name on this machine and libnss-wrapper is not installed: a process that asks for its user name gets none", id.uid))
		return nil, nil
	}
	name := "uid" + strconv.Itoa(int(id.uid))
	if id.uid == imageUID {
		name = "flink"
	}
	// One pair of files per uid: containers of one pod may run as different users, and nss_wrapper
	// re-reads a file that changes under a running process.
	suffix := fmt.Sprintf("-%d-%d", id.uid, id.gid)
	passwd, group := filepath.Join(r.dir, "passwd"+suffix), filepath.Join(r.dir, "group"+suffix)
	groups := "root:x:0:\n"
	if id.gid != 0 {
		groups += fmt.Sprintf("%s:x:%d:\n", name, id.gid)
	}
	entry := fmt.Sprintf("%s:x:%d:%d::/opt/flink:/bin/bash\n", name, id.uid, id.gid)
	if err := writeAtomically(passwd, "root:x:0:0:root:/root:/bin/bash\n"+entry); err != nil {
		return nil, err
	}
	if err := writeAtomically(group, groups); err != nil {
		return nil, err
	}
	rw.add(fmt.Sprintf("uid %d is %s, as in the image's /etc/passwd (nss_wrapper, %s)", id.uid, name, passwd))
	if preload != "" {
		lib += ":" + preload // the container's own LD_PRELOAD (jemalloc, say) still applies
	}
	return []string{"LD_PRELOAD=" + lib, "NSS_WRAPPER_PASSWD=" + passwd, "NSS_WRAPPER_GROUP=" + group}, nil
}

// writeAtomically replaces path with data by a rename, so that a process reading it never sees
// it half written.
func writeAtomically(path, data string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
