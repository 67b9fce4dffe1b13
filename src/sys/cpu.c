// SPDX-License-Identifier: GPL-2.0-or-later
#include "sys/cpu.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>

#include "base/host.h"
#include "base/log.h"
#include "base/util.h"

/* Read a CPU list file (path relative to the host root). */
static int read_set(struct cpuset *out, unsigned flags, const char *path)
{
	_cleanup_free_ char *text = NULL;
	int r = host_read(&text, "%s", path);

	if (r < 0)
		return r;
	return cpuset_parse(text, flags, out, NULL);
}

int cpu_online(struct cpuset *out)
{
	return read_set(out, 0, "/sys/devices/system/cpu/online");
}

int cpu_siblings(unsigned cpu, struct cpuset *out)
{
	char path[128];

	snprintf(path, sizeof(path),
		 "/sys/devices/system/cpu/cpu%u/topology/thread_siblings_list", cpu);
	if (read_set(out, 0, path) == 0 && cpuset_has(out, cpu))
		return 0;
	cpuset_zero(out);
	cpuset_set(out, cpu);
	return 0;
}

int cpu_node_cpus(unsigned node, struct cpuset *out)
{
	char path[128];

	/* a node without CPUs (memory only) has an empty cpulist */
	snprintf(path, sizeof(path), "/sys/devices/system/node/node%u/cpulist", node);
	return read_set(out, CPUSET_EMPTY_OK, path);
}

/* "CPU 3/KVM" -> 3, "CPU 0/TCG" -> 0, else -1 */
static int vcpu_of(const char *comm)
{
	unsigned long long n;
	char num[16];
	const char *slash;

	if (!startswith(comm, "CPU "))
		return -1;
	slash = strchr(comm + 4, '/');
	if (!slash || (size_t)(slash - comm - 4) >= sizeof(num) ||
	    (!streq(slash, "/KVM") && !streq(slash, "/TCG")))
		return -1;
	snprintf(num, sizeof(num), "%.*s", (int)(slash - comm - 4), comm + 4);
	if (parse_uint(num, 1u << 20, &n) < 0)
		return -1;
	return (int)n;
}

int task_list(pid_t pid, struct task **out, size_t *n)
{
	_cleanup_free_ char *dir = host_pathdup("/proc/%d/task", (int)pid);
	struct task *v = NULL;
	size_t k = 0;
	struct dirent *e;
	DIR *d;

	*out = NULL;
	*n = 0;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		_cleanup_free_ char *comm = NULL;
		unsigned long long tid;
		size_t i;

		if (parse_uint(e->d_name, 1u << 30, &tid) < 0 ||
		    host_read(&comm, "/proc/%d/task/%llu/comm", (int)pid, tid) < 0)
			continue; /* a thread that just ended */
		v = xrealloc(v, (k + 1) * sizeof(*v));
		for (i = k; i > 0 && v[i - 1].tid > (pid_t)tid; i--)
			v[i] = v[i - 1];
		memset(&v[i], 0, sizeof(v[i]));
		v[i].tid = (pid_t)tid;
		snprintf(v[i].comm, sizeof(v[i].comm), "%s", comm);
		v[i].vcpu = vcpu_of(v[i].comm);
		k++;
	}
	closedir(d);
	*out = v;
	*n = k;
	return 0;
}

int task_affinity(pid_t pid, pid_t tid, struct cpuset *out)
{
	_cleanup_free_ char *status = NULL;
	const char *p;
	char *nl;
	int r = host_read(&status, "/proc/%d/task/%d/status", (int)pid, (int)tid);

	if (r < 0)
		return r;
	p = strstr(status, "\nCpus_allowed_list:");
	if (!p)
		return -EINVAL;
	p += strlen("\nCpus_allowed_list:");
	while (*p == ' ' || *p == '\t')
		p++;
	nl = strchr(p, '\n');
	if (nl)
		*nl = '\0';
	return cpuset_parse(p, 0, out, NULL);
}

int task_pin(pid_t tid, const struct cpuset *set, bool *skipped, char **err)
{
	cpu_set_t *mask;
	size_t size;
	int r = 0;

	*skipped = false;
	if (!host_is_real()) {
		_cleanup_free_ char *list = cpuset_format(set);

		log_debug("not pinning thread %d to %s: the root is not /", (int)tid,
			  list);
		*skipped = true;
		return 0;
	}
	mask = CPU_ALLOC(CPUSET_MAX);
	if (!mask)
		return errnof(err, -ENOMEM, "out of memory");
	size = CPU_ALLOC_SIZE(CPUSET_MAX);
	CPU_ZERO_S(size, mask);
	cpuset_foreach(c, set) CPU_SET_S((size_t)c, size, mask);
	if (sched_setaffinity(tid, size, mask) < 0) {
		_cleanup_free_ char *list = cpuset_format(set);

		r = errnof(err, -errno,
			   "sched_setaffinity of thread %d to CPUs %s failed: %s",
			   (int)tid, list, strerror(errno));
	}
	CPU_FREE(mask);
	return r;
}
