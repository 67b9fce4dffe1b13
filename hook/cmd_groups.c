// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfiohook groups — every IOMMU group with its devices, what the guides'
 * iommu-groups.sh prints (one `lspci -nns` per device), from one libpci scan.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/log.h"
#include "cli.h"
#include "pci/inventory.h"

static int cmp_group(const void *a, const void *b)
{
	const struct pdev *x = *(struct pdev *const *)a, *y = *(struct pdev *const *)b;

	if (x->group != y->group)
		/* devices without a group last */
		return (unsigned)x->group < (unsigned)y->group ? -1 : 1;
	return strcmp(x->bdf, y->bdf);
}

static void print_dev(FILE *f, const struct pdev *d)
{
	fprintf(f, "\t%s %s [%04x]: %s %s [%04x:%04x]", d->bdf,
		d->class_name ? d->class_name : "Class", d->class_code >> 8,
		d->vendor_name ? d->vendor_name : "Vendor",
		d->device_name ? d->device_name : "Device", d->vendor, d->device);
	if (d->driver)
		fprintf(f, " (driver: %s)", d->driver);
	else
		fprintf(f, " (no driver)");
	fputc('\n', f);
}

static json_object *dev_json(const struct pdev *d)
{
	json_object *o = json_object_new_object();
	char buf[16];

	json_object_object_add(o, "id", json_object_new_string(d->bdf));
	snprintf(buf, sizeof(buf), "%04x", d->vendor);
	json_object_object_add(o, "vendor", json_object_new_string(buf));
	snprintf(buf, sizeof(buf), "%04x", d->device);
	json_object_object_add(o, "device", json_object_new_string(buf));
	snprintf(buf, sizeof(buf), "%06x", d->class_code);
	json_object_object_add(o, "class", json_object_new_string(buf));
	json_object_object_add(o, "vendor_name",
			       d->vendor_name ? json_object_new_string(d->vendor_name)
					      : NULL);
	json_object_object_add(o, "device_name",
			       d->device_name ? json_object_new_string(d->device_name)
					      : NULL);
	json_object_object_add(o, "class_name",
			       d->class_name ? json_object_new_string(d->class_name)
					     : NULL);
	json_object_object_add(o, "driver",
			       d->driver ? json_object_new_string(d->driver) : NULL);
	json_object_object_add(o, "bridge", json_object_new_boolean(d->bridge));
	return o;
}

int cmd_groups(struct cli *c)
{
	struct inventory *inv = NULL;
	struct pdev **v = NULL;
	size_t n = 0, ungrouped = 0;
	_cleanup_free_ char *err = NULL;
	int r;

	if (c->argc != 0) {
		log_err("usage: vfiohook groups (no arguments)");
		return EXIT_USAGE;
	}
	r = inventory_open(&inv, &err);
	if (r < 0) {
		log_err("%s", err ? err : strerror(-r));
		return EXIT_REFUSED;
	}
	r = inventory_scan(inv, INV_NAMES, &v, &n);
	if (r < 0) {
		log_err("%s", "cannot scan PCI devices");
		inventory_close(inv);
		return EXIT_REFUSED;
	}
	qsort(v, n, sizeof(*v), cmp_group);
	if (c->json) {
		json_object *root = json_object_new_object();
		json_object *groups = json_object_new_array(),
			    *none = json_object_new_array();
		json_object *g = NULL, *devs = NULL;

		for (size_t i = 0; i < n; i++) {
			if (v[i]->group < 0) {
				json_object_array_add(none, dev_json(v[i]));
				continue;
			}
			if (!g || i == 0 || v[i - 1]->group != v[i]->group) {
				g = json_object_new_object();
				devs = json_object_new_array();
				json_object_object_add(g, "group",
						       json_object_new_int(v[i]->group));
				json_object_object_add(g, "devices", devs);
				json_object_array_add(groups, g);
			}
			json_object_array_add(devs, dev_json(v[i]));
		}
		json_object_object_add(root, "groups", groups);
		json_object_object_add(root, "ungrouped", none);
		json_print(root);
		json_object_put(root);
	} else {
		for (size_t i = 0; i < n; i++) {
			if (v[i]->group < 0) {
				ungrouped++;
				continue;
			}
			if (i == 0 || v[i - 1]->group != v[i]->group)
				printf("IOMMU group %d:\n", v[i]->group);
			print_dev(stdout, v[i]);
		}
		if (ungrouped) {
			printf(
			    "No IOMMU group (the IOMMU is off or does not cover them):\n");
			for (size_t i = 0; i < n; i++)
				if (v[i]->group < 0)
					print_dev(stdout, v[i]);
		}
	}
	if (n > 0 && ungrouped == n)
		log_warn(
		    "no device has an IOMMU group: enable VT-d/AMD-Vi in the firmware and boot with intel_iommu=on (Intel) or amd_iommu=on (AMD)");
	pdev_freev(v, n);
	inventory_close(inv);
	return EXIT_OK;
}
