/*
 * verify_json.c - a device's verification report as a JSON object (`trainer verify
 * --json`): the device's facts, one entry per check, the verdict.
 */
#include "trainer/verify.h"

#include <cjson/cJSON.h>
#include <math.h>

/* A number, or null where JSON has none (an infinite error). */
static cJSON *number(double x)
{
	return isfinite(x) ? cJSON_CreateNumber(x) : cJSON_CreateNull();
}

static cJSON *check_json(const tr_verify_check *c)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "op", c->op);
	cJSON_AddStringToObject(o, "cases", c->what);
	cJSON_AddNumberToObject(o, "n_cases", (double)c->cases);
	cJSON_AddStringToObject(o, "measure", c->measure);
	cJSON_AddItemToObject(o, "error", number(c->error));
	cJSON_AddNumberToObject(o, "bound", c->bound);
	cJSON_AddStringToObject(o, "worst_case", c->worst);
	cJSON_AddNumberToObject(o, "failed_cases", (double)c->failed);
	cJSON_AddStringToObject(o, "result", c->pass ? "pass" : "fail");
	cJSON_AddNumberToObject(o, "seconds", c->seconds);
	if (c->message[0])
		cJSON_AddStringToObject(o, "message", c->message);
	return o;
}

/* "pass", "fail" (a check out of bounds), or "error" (the run stopped). */
static const char *verdict(const tr_verify_report *rep)
{
	if (rep->n_failed > 0)
		return "fail";
	return rep->status == TR_OK ? "pass" : "error";
}

cJSON *tr_verify_report_json(const tr_verify_report *rep)
{
	cJSON *o = cJSON_CreateObject(), *checks;
	size_t i;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "device", rep->device);
	cJSON_AddStringToObject(o, "backend", rep->backend);
	cJSON_AddStringToObject(o, "device_name", rep->device_name);
	cJSON_AddStringToObject(o, "driver", rep->device_version);
	cJSON_AddStringToObject(o, "tuning", rep->tuning);
	cJSON_AddStringToObject(o, "verdict", verdict(rep));
	if (rep->status != TR_OK) {
		cJSON_AddNumberToObject(o, "exit_status", rep->status);
		cJSON_AddStringToObject(o, "message", rep->message);
	}
	cJSON_AddNumberToObject(o, "n_checks", (double)rep->n_checks);
	cJSON_AddNumberToObject(o, "failed_checks", (double)rep->n_failed);
	cJSON_AddNumberToObject(o, "n_cases", (double)rep->n_cases);
	cJSON_AddNumberToObject(o, "seconds", rep->seconds);
	checks = cJSON_AddArrayToObject(o, "checks");
	for (i = 0; checks && i < rep->n_checks; i++)
		cJSON_AddItemToArray(checks, check_json(&rep->checks[i]));
	if (!checks) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}
