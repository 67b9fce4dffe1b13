// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfiohook — Proxmox VE hookscript and tool for PCIe passthrough.
 *
 * Proxmox execs a hookscript as `path VMID PHASE` (proxmox-facts.md); an
 * administrator runs `vfiohook COMMAND ...`.  This file turns argv into one
 * of those and an exit status; the work is in the commands and in src/.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/host.h"
#include "base/ids.h"
#include "base/log.h"
#include "base/util.h"
#include "cli.h"

#ifndef VFIOHOOK_VERSION
#define VFIOHOOK_VERSION "unknown"
#endif

/* options that only some commands take */
enum {
	OPT_SOURCE = 1 << 0,
	OPT_CLUSTER = 1 << 1,
	OPT_STORAGE = 1 << 2,
	OPT_CHAIN = 1 << 3,
	OPT_METHOD = 1 << 4,
	OPT_SLOT = 1 << 5,
};

struct command {
	const char *name;
	int (*run)(struct cli *c);
	const char *args;
	const char *help;
	unsigned opts; /* OPT_* it accepts */
};

static const struct command commands[] = {
    {"plan", cmd_plan, "VMID", "what pre-start would do, changing nothing", OPT_SOURCE},
    {"groups", cmd_groups, "", "IOMMU groups with devices, names, drivers", 0},
    {"status", cmd_status, "[--cluster]", "devices on vfio-pci, their VMs, journals",
     OPT_CLUSTER},
    {"check", cmd_check, "[VMID]", "read-only doctor: host and VM findings with fixes",
     OPT_SOURCE | OPT_CLUSTER},
    {"reset", cmd_reset, "BDF...", "reset devices by the reset ladder (AMD reset bug)",
     OPT_METHOD | OPT_SLOT},
    {"release", cmd_release, "VMID", "post-stop by hand (after a crash, say)", 0},
    {"enable", cmd_enable, "VMID", "register as the VM's hookscript (qm set)",
     OPT_STORAGE | OPT_CHAIN},
    {"disable", cmd_disable, "VMID", "unregister; restore a chained hookscript", 0},
};

static const char *const phases[] = {"pre-start", "post-start", "pre-stop", "post-stop"};

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* `vfiohook VMID PHASE`, exactly as Proxmox execs a hookscript. */
static int hook_mode(struct cli *c, int argc, char **argv)
{
	unsigned vmid;
	bool known = false;
	int r;

	if (argc != 2 || vmid_parse(argv[0], &vmid) < 0) {
		log_err(
		    "hook mode takes exactly 'VMID PHASE' with VMID a positive number; see 'vfiohook --help'");
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < ARRAY_SIZE(phases); i++)
		known |= streq(argv[1], phases[i]);
	if (!known) {
		log_err(
		    "unknown hook phase '%s': Proxmox calls pre-start, post-start, pre-stop or post-stop",
		    argv[1]);
		return EXIT_USAGE;
	}
	r = host_setup(c->root, c->node);
	if (r < 0) {
		log_err("cannot set up root '%s': %s", c->root ? c->root : "/",
			strerror(-r));
		return EXIT_USAGE;
	}
	/* Proxmox sets PVE_MIGRATED_FROM for every hook: empty on a normal
	 * start, the source node on a live migration's target, whose config
	 * still lives on the source (proxmox-facts.md) */
	c->migrated_from = getenv("PVE_MIGRATED_FROM");
	if (c->migrated_from && *c->migrated_from) {
		struct plan_ctx_opts o = {.migrated_from = c->migrated_from};

		log_debug("VM %u: migration target, config on node %s", vmid,
			  c->migrated_from);
		plan_ctx_set_defaults(&o);
	}
	r = hook_run(c, vmid, argv[1]);
	host_cleanup();
	return r;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage:\n"
	    "  vfiohook VMID PHASE        hook mode (PHASE: pre-start, post-start, pre-stop, post-stop)\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		char left[64];

		snprintf(left, sizeof(left), "%s %s", commands[i].name, commands[i].args);
		fprintf(f, "  vfiohook %-17s %s\n", left, commands[i].help);
	}
	fprintf(
	    f,
	    "\nOptions:\n"
	    "  --root DIR    read and write the host below DIR (env VFIOHOOK_ROOT)\n"
	    "  --node NAME   Proxmox node name (env VFIOHOOK_NODE; default: host name)\n"
	    "  --json        machine-readable output\n"
	    "  --dry-run     plan only, change nothing\n"
	    "  --source S    plan, check: read the VM configs and PCI mappings from\n"
	    "                'file' (/etc/pve, default) or 'api' ([api] in /etc/vfiohook.conf)\n"
	    "  --cluster     status, check: every node of the cluster, through the API\n"
	    "  --storage ID  enable: the snippets storage for the hookscript (default local)\n"
	    "  --chain       enable: keep the VM's current hookscript, run after vfiohook\n"
	    "  --method M    reset: use only this rung (device_specific acpi flr af_flr pm bus cxl_bus remove)\n"
	    "  --slot        reset: every function of each device's slot (a GPU and its audio)\n"
	    "  -v, -q        more or less output\n"
	    "  -h, --help    this help\n"
	    "  --version     print the version\n"
	    "\nExit status: 0 done, 1 refused or failed, 2 bad usage or input.\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"root", required_argument, NULL, 'r'},
	    {"node", required_argument, NULL, 'n'},
	    {"json", no_argument, NULL, 'j'},
	    {"dry-run", no_argument, NULL, 'd'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {"source", required_argument, NULL, 'S'},
	    {"cluster", no_argument, NULL, 'C'},
	    {"storage", required_argument, NULL, 's'},
	    {"chain", no_argument, NULL, 'c'},
	    {"method", required_argument, NULL, 'm'},
	    {"slot", no_argument, NULL, 'L'},
	    {NULL, 0, NULL, 0},
	};
	struct cli c = {0};
	int level = LOGL_INFO, opt, r;
	unsigned used = 0;
	const struct command *cmd = NULL;

	c.root = getenv("VFIOHOOK_ROOT");
	c.node = getenv("VFIOHOOK_NODE");
	while ((opt = getopt_long(argc, argv, "vqh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			c.root = optarg;
			break;
		case 'n':
			c.node = optarg;
			break;
		case 'j':
			c.json = true;
			break;
		case 'd':
			c.dry_run = true;
			break;
		case 'v':
			level = LOGL_DEBUG;
			break;
		case 'q':
			level = LOGL_ERR;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("vfiohook %s\n", VFIOHOOK_VERSION);
			return EXIT_OK;
		case 'S':
			c.source = optarg;
			used |= OPT_SOURCE;
			break;
		case 'C':
			c.cluster = true;
			used |= OPT_CLUSTER;
			break;
		case 's':
			c.storage = optarg;
			used |= OPT_STORAGE;
			break;
		case 'c':
			c.chain = true;
			used |= OPT_CHAIN;
			break;
		case 'm':
			c.method = optarg;
			used |= OPT_METHOD;
			break;
		case 'L':
			c.slot = true;
			used |= OPT_SLOT;
			break;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		log_setup(level, false);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (c.root && c.root[0] != '/') {
		log_setup(level, false);
		log_err("--root '%s' must be an absolute path", c.root);
		return EXIT_USAGE;
	}
	if (c.source && !streq(c.source, "file") && !streq(c.source, "api")) {
		log_setup(level, false);
		log_err("--source '%s': expected 'file' (/etc/pve) or 'api'", c.source);
		return EXIT_USAGE;
	}
	if (all_digits(argv[optind])) {
		if (used) {
			log_setup(level, false);
			log_err(
			    "hook mode takes no --source, --cluster, --storage, --chain, --method or --slot; see 'vfiohook --help'");
			return EXIT_USAGE;
		}
		/* post-stop after an in-guest shutdown runs under qmeventd, whose
		 * output only reaches its journal: log to syslog too */
		log_setup(level, true);
		return hook_mode(&c, argc - optind, argv + optind);
	}
	log_setup(level, false);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (streq(argv[optind], commands[i].name))
			cmd = &commands[i];
	if (!cmd) {
		log_err("unknown command '%s'; see 'vfiohook --help'", argv[optind]);
		return EXIT_USAGE;
	}
	if (used & ~cmd->opts) {
		static const char *const names[] = {"--source", "--cluster", "--storage",
						    "--chain",	"--method",  "--slot"};

		for (size_t i = 0; i < ARRAY_SIZE(names); i++)
			if (used & ~cmd->opts & (1u << i)) {
				log_err(
				    "%s is not an option of '%s'; see 'vfiohook --help'",
				    names[i], cmd->name);
				return EXIT_USAGE;
			}
	}
	c.argc = argc - optind - 1;
	c.argv = argv + optind + 1;
	r = host_setup(c.root, c.node);
	if (r < 0) {
		log_err("cannot set up root '%s': %s", c.root ? c.root : "/",
			strerror(-r));
		return EXIT_USAGE;
	}
	r = cmd->run(&c);
	host_cleanup();
	return r;
}
