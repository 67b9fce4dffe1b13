// SPDX-License-Identifier: GPL-2.0-or-later
/* The host configuration parsers: kernel command line, GRUB defaults,
 * /etc/kernel/cmdline, modprobe.d, /proc/iomem. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "base/host.h"
#include "engine/hostcfg.h"
#include "fixture.h"
#include "testutil.h"

static void test_cmdline(void **state)
{
	struct strv p = {0};

	(void)state;
	cmdline_split(
	    "BOOT_IMAGE=/boot/vmlinuz-6.8 root=/dev/mapper/pve-root ro  quiet\tintel_iommu=on iommu=pt dyndbg=\"file x.c +p\" vfio-pci.ids=10de:1b80,10de:10f0 nomodeset\n",
	    &p);
	assert_int_equal(p.n, 9);
	/* quotes group white space and are removed, as the kernel does */
	assert_string_equal(p.v[6], "dyndbg=file x.c +p");
	assert_string_equal(cmdline_get(&p, "intel_iommu"), "on");
	assert_string_equal(cmdline_get(&p, "iommu"), "pt");
	/* '-' and '_' are one in parameter names */
	assert_string_equal(cmdline_get(&p, "vfio_pci.ids"), "10de:1b80,10de:10f0");
	assert_string_equal(cmdline_get(&p, "nomodeset"), "");
	assert_null(cmdline_get(&p, "amd_iommu"));
	assert_null(cmdline_get(&p, "intel"));
	strv_clear(&p);
	/* the last one wins */
	cmdline_split("a=1 a=2", &p);
	assert_string_equal(cmdline_get(&p, "a"), "2");
	strv_clear(&p);
	cmdline_split("", &p);
	assert_int_equal(p.n, 0);
	cmdline_split(NULL, &p);
	assert_int_equal(p.n, 0);
}

static void test_grub(void **state)
{
	struct bootcfg cfg = {0};
	const struct bootsrc *s;
	char *d;

	(void)state;
	bootcfg_parse_grub(
	    &cfg,
	    "# If you change this file, run 'update-grub'\n"
	    "GRUB_DEFAULT=0\n"
	    "#GRUB_CMDLINE_LINUX_DEFAULT=\"intel_iommu=off\"\n"
	    "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on iommu=pt\"\n"
	    "export GRUB_CMDLINE_LINUX='pcie_acs_override=downstream,multifunction'\n"
	    "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT \\\n"
	    "  video=efifb:off\"\n"
	    "GRUB_TIMEOUT=5\n",
	    "/etc/default/grub");
	assert_int_equal(cfg.n, 3);
	assert_int_equal(cfg.v[0].line, 4);
	assert_string_equal(cfg.v[0].var, "GRUB_CMDLINE_LINUX_DEFAULT");
	assert_int_equal(cfg.v[0].params.n, 3);
	assert_int_equal(cfg.v[1].line, 5);
	assert_string_equal(cfg.v[1].var, "GRUB_CMDLINE_LINUX");
	/* a continued line; the $VAR reference is no parameter */
	assert_int_equal(cfg.v[2].line, 6);
	assert_int_equal(cfg.v[2].params.n, 1);
	assert_string_equal(cfg.v[2].params.v[0], "video=efifb:off");
	s = bootcfg_find(&cfg, "intel_iommu");
	assert_ptr_equal(s, &cfg.v[0]);
	d = bootsrc_describe(s);
	assert_string_equal(d, "/etc/default/grub:4, GRUB_CMDLINE_LINUX_DEFAULT");
	free(d);
	assert_ptr_equal(bootcfg_find(&cfg, "pcie-acs-override"), &cfg.v[1]);
	assert_null(bootcfg_find(&cfg, "GRUB_DEFAULT"));
	/* a value spanning lines keeps counting them */
	bootcfg_parse_grub(&cfg, "GRUB_CMDLINE_LINUX=\"a\nb\"\nGRUB_CMDLINE_LINUX=c\n",
			   "x");
	assert_int_equal(cfg.n, 5);
	assert_int_equal(cfg.v[3].params.n, 2);
	assert_int_equal(cfg.v[4].line, 3);
	assert_string_equal(cfg.v[4].params.v[0], "c");
	bootcfg_parse_kernel_cmdline(&cfg,
				     "root=ZFS=rpool/ROOT/pve-1 boot=zfs amd_iommu=on\n",
				     "/etc/kernel/cmdline");
	s = bootcfg_find(&cfg, "amd_iommu");
	assert_non_null(s);
	assert_null(s->var);
	d = bootsrc_describe(s);
	assert_string_equal(d, "/etc/kernel/cmdline");
	free(d);
	bootcfg_clear(&cfg);
	/* junk never fails */
	bootcfg_parse_grub(&cfg, "GRUB_CMDLINE_LINUX=\"unterminated\n'\\", "y");
	bootcfg_clear(&cfg);
}

static void test_bootcfg_read(void **state)
{
	struct fx *fx = *state;
	struct bootcfg cfg;
	struct strv run = {0};

	assert_int_equal(
	    fx_spec(
		fx,
		"file /etc/default/grub GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
		"file /etc/default/grub.d/b.cfg GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT iommu=pt\"\n"
		"file /etc/default/grub.d/a.cfg GRUB_CMDLINE_LINUX=\"intel_iommu=on\"\n"
		"file /etc/default/grub.d/c.txt GRUB_CMDLINE_LINUX=\"ignored\"\n"
		"file /etc/kernel/cmdline root=ZFS=rpool/ROOT/pve-1 boot=zfs\n"),
	    0);
	/* GRUB passes BOOT_IMAGE */
	cmdline_split("BOOT_IMAGE=/boot/vmlinuz root=x", &run);
	bootcfg_read(&cfg, &run);
	assert_int_equal(cfg.loader, BOOT_GRUB);
	assert_int_equal(cfg.n, 4);
	/* grub.d snippets in name order, after /etc/default/grub */
	assert_string_equal(cfg.v[1].file, "/etc/default/grub.d/a.cfg");
	assert_string_equal(bootcfg_find(&cfg, "iommu")->file,
			    "/etc/default/grub.d/b.cfg");
	assert_string_equal(cfg.v[3].file, "/etc/kernel/cmdline");
	assert_string_equal(boot_loader_apply(cfg.loader), "update-grub");
	bootcfg_clear(&cfg);
	strv_clear(&run);
	/* systemd-boot passes the initrd from the ESP */
	cmdline_split(
	    "initrd=\\EFI\\proxmox\\6.8.12-4-pve\\initrd.img-6.8.12-4-pve root=ZFS=rpool",
	    &run);
	bootcfg_read(&cfg, &run);
	assert_int_equal(cfg.loader, BOOT_SYSTEMD_BOOT);
	assert_string_equal(boot_loader_file(cfg.loader), "/etc/kernel/cmdline");
	assert_string_equal(boot_loader_apply(cfg.loader), "proxmox-boot-tool refresh");
	bootcfg_clear(&cfg);
	/* without a running command line: proxmox-boot-tool on EFI with a cmdline file */
	bootcfg_read(&cfg, NULL);
	assert_int_equal(cfg.loader, BOOT_GRUB);
	bootcfg_clear(&cfg);
	assert_int_equal(fx_spec(fx, "file /etc/kernel/proxmox-boot-uuids 1234-ABCD\n"
				     "mkdir /sys/firmware/efi\n"),
			 0);
	bootcfg_read(&cfg, NULL);
	assert_int_equal(cfg.loader, BOOT_SYSTEMD_BOOT);
	bootcfg_clear(&cfg);
	strv_clear(&run);
}

static void test_modconf(void **state)
{
	struct modconf mc = {0};
	char *v;

	(void)state;
	modconf_parse(&mc,
		      "# from a guide\n"
		      "options vfio-pci ids=10de:1b80,10de:10f0 disable_vga=1\n"
		      "\n"
		      "   blacklist nouveau   \n"
		      "softdep nvidia pre: \\\n"
		      "   vfio-pci\n"
		      "install radeon /bin/false\n"
		      "frobnicate x\n",
		      "/etc/modprobe.d/vfio.conf");
	assert_int_equal(mc.n, 5);
	assert_int_equal(mc.v[0].kind, MODCONF_OPTIONS);
	assert_int_equal(mc.v[0].line, 2);
	assert_string_equal(mc.v[0].module, "vfio_pci");
	assert_string_equal(mc.v[0].args, "ids=10de:1b80,10de:10f0 disable_vga=1");
	v = modconf_option(&mc.v[0], "ids");
	assert_string_equal(v, "10de:1b80,10de:10f0");
	free(v);
	v = modconf_option(&mc.v[0], "disable-vga");
	assert_string_equal(v, "1");
	free(v);
	assert_null(modconf_option(&mc.v[0], "disable_idle_d3"));
	assert_int_equal(mc.v[1].kind, MODCONF_BLACKLIST);
	assert_int_equal(mc.v[1].line, 4);
	assert_string_equal(mc.v[1].text, "blacklist nouveau");
	/* a continued line is one command, at its first line */
	assert_int_equal(mc.v[2].kind, MODCONF_SOFTDEP);
	assert_int_equal(mc.v[2].line, 5);
	assert_string_equal(mc.v[2].args, "pre: vfio-pci");
	assert_null(modconf_option(&mc.v[2], "pre"));
	assert_int_equal(mc.v[3].kind, MODCONF_INSTALL);
	assert_string_equal(mc.v[3].args, "/bin/false");
	assert_int_equal(mc.v[4].kind, MODCONF_OTHER);
	modconf_clear(&mc);
	modconf_parse(&mc, "\\", "x");
	modconf_parse(&mc, NULL, "x");
	assert_int_equal(mc.n, 0);
	modconf_clear(&mc);
}

static void test_modconf_read(void **state)
{
	struct fx *fx = *state;
	struct modconf mc;

	assert_int_equal(
	    fx_spec(fx, "file /lib/modprobe.d/vfio.conf blacklist amdgpu\n"
			"file /lib/modprobe.d/aa.conf blacklist radeon\n"
			"file /etc/modprobe.d/vfio.conf options vfio-pci ids=1002:67df\n"
			"file /etc/modprobe.d/pve-blacklist.conf blacklist nvidiafb\n"
			"file /etc/modprobe.d/notes.txt blacklist nouveau\n"
			"file /run/modprobe.d/zz.conf softdep amdgpu pre: vfio-pci\n"),
	    0);
	modconf_read(&mc);
	/* name order across directories; /etc/modprobe.d/vfio.conf hides
	 * /lib/modprobe.d/vfio.conf; only *.conf files count */
	assert_int_equal(mc.n, 4);
	assert_string_equal(mc.v[0].file, "/lib/modprobe.d/aa.conf");
	assert_string_equal(mc.v[1].file, "/etc/modprobe.d/pve-blacklist.conf");
	assert_string_equal(mc.v[2].file, "/etc/modprobe.d/vfio.conf");
	assert_int_equal(mc.v[2].kind, MODCONF_OPTIONS);
	assert_string_equal(mc.v[3].file, "/run/modprobe.d/zz.conf");
	modconf_clear(&mc);
}

static void test_iomem(void **state)
{
	struct iomem_range *v = NULL;
	size_t n = 0;

	(void)state;
	iomem_parse("00000000-00000fff : Reserved\n"
		    "80000000-dfffffff : PCI Bus 0000:00\n"
		    "  c0000000-d1ffffff : PCI Bus 0000:01\n"
		    "    c0000000-cfffffff : 0000:01:00.0\n"
		    "      c0000000-c08fffff : efifb\n"
		    "junk\n"
		    "zz-yy : bad\n"
		    "10-5 : backwards\n"
		    "    d0000000-d0ffffff : simple-framebuffer.0\n"
		    "100000000-43fffffff : System RAM",
		    &v, &n);
	assert_int_equal(n, 7);
	assert_int_equal(v[4].depth, 3);
	assert_string_equal(v[4].name, "efifb");
	assert_true(v[4].start == 0xc0000000ULL && v[4].end == 0xc08fffffULL);
	assert_true(v[6].start == 0x100000000ULL);
	assert_true(iomem_is_framebuffer("efifb"));
	assert_true(iomem_is_framebuffer("BOOTFB"));
	assert_true(iomem_is_framebuffer("simpledrm"));
	assert_true(iomem_is_framebuffer(v[5].name));
	assert_false(iomem_is_framebuffer("0000:01:00.0"));
	assert_false(iomem_is_framebuffer("System RAM"));
	iomem_free(v, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cmdline),
	    cmocka_unit_test(test_grub),
	    cmocka_unit_test_setup_teardown(test_bootcfg_read, fx_test_setup,
					    fx_test_teardown),
	    cmocka_unit_test(test_modconf),
	    cmocka_unit_test_setup_teardown(test_modconf_read, fx_test_setup,
					    fx_test_teardown),
	    cmocka_unit_test(test_iomem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
