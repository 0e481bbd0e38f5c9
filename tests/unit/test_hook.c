/* SPDX-License-Identifier: Apache-2.0 */
/* test_hook.c - webhooks without a network: the allowlist syntax, which
 * URLs a policy accepts, which addresses count as public (table-driven,
 * IPv4, IPv6 and IPv4-mapped), a loopback name refused after resolution,
 * the HMAC against RFC 4231, and the job spec's webhook member (form
 * errors named webhook.url, canonical round trip). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hook/hook.h"
#include "search/search.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static void policy_syntax(void **state)
{
	struct hook_policy p;
	char err[CORE_ERR_LEN];

	(void)state;
	assert_int_equal(hook_policy_parse("", 0, &p, err, sizeof err), 0);
	assert_int_equal(p.nhosts, 0);
	assert_int_equal(hook_policy_parse(" Hooks.Example.com , *.ci.example,"
					   "127.0.0.1,[::1]",
					   1, &p, err, sizeof err),
			 0);
	assert_int_equal(p.nhosts, 4);
	assert_string_equal(p.hosts[0], "hooks.example.com");
	assert_string_equal(p.hosts[1], "*.ci.example");
	assert_int_equal(p.allow_private, 1);
	assert_int_equal(hook_policy_parse("a/b", 0, &p, err, sizeof err),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(err, "--webhook-allow"));
	assert_non_null(strstr(err, "a/b"));
	assert_int_equal(
	    hook_policy_parse("x*.example", 0, &p, err, sizeof err),
	    CORE_ERR_INVALID);
	assert_int_equal(hook_policy_parse("*", 0, &p, err, sizeof err),
			 CORE_ERR_INVALID);
}

static void urls_against_the_allowlist(void **state)
{
	static const struct {
		const char *url;
		int ok;
		const char *why;
	} cases[] = {
	    {"https://hooks.example.com/lmnas", 1, NULL},
	    {"http://HOOKS.example.com:8443/x?y=1", 1, NULL},
	    {"https://a.b.ci.example/x", 1, NULL},
	    {"https://ci.example/x", 0, "allowlist"}, /* *.x: subdomains */
	    {"https://evilci.example/x", 0, "allowlist"},
	    {"https://hooks.example.com.evil.net/x", 0, "allowlist"},
	    {"http://[::1]:9000/x", 1, NULL},
	    {"http://127.0.0.1/x", 0, "allowlist"},
	    {"ftp://hooks.example.com/x", 0, "http"},
	    {"https://user:pw@hooks.example.com/x", 0, "credentials"},
	    {"not a url", 0, "valid URL"},
	};
	struct hook_policy p, none;
	char err[CORE_ERR_LEN], why[CORE_ERR_LEN];

	(void)state;
	assert_int_equal(hook_policy_parse("hooks.example.com,*.ci.example,"
					   "[::1]",
					   0, &p, err, sizeof err),
			 0);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		enum core_status st =
		    hook_url_allowed(&p, cases[i].url, why, sizeof why);
		if ((st == CORE_OK) != cases[i].ok)
			fail_msg("%s: %s (%s)", cases[i].url,
				 st ? "refused" : "allowed", why);
		if (!cases[i].ok && !strstr(why, cases[i].why))
			fail_msg("%s: '%s' lacks '%s'", cases[i].url, why,
				 cases[i].why);
	}
	/* an empty allowlist refuses every webhook, saying why */
	assert_int_equal(hook_policy_parse(NULL, 1, &none, err, sizeof err), 0);
	assert_int_equal(hook_url_allowed(&none, "https://hooks.example.com/",
					  why, sizeof why),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(why, "not enabled"));
}

static int public4(const char *a)
{
	struct sockaddr_in in;

	memset(&in, 0, sizeof in);
	in.sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, a, &in.sin_addr), 1);
	return hook_address_public((const struct sockaddr *)&in);
}

static int public6(const char *a)
{
	struct sockaddr_in6 in;

	memset(&in, 0, sizeof in);
	in.sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, a, &in.sin6_addr), 1);
	return hook_address_public((const struct sockaddr *)&in);
}

static void addresses_public_or_not(void **state)
{
	static const struct {
		const char *a;
		int pub;
	} v4[] =
	    {
		{"8.8.8.8", 1},		{"93.184.216.34", 1},
		{"127.0.0.1", 0},	{"127.255.0.9", 0},
		{"10.1.2.3", 0},	{"172.16.0.1", 0},
		{"172.31.255.255", 0},	{"172.32.0.1", 1},
		{"192.168.1.1", 0},	{"169.254.169.254", 0},
		{"100.64.0.1", 0},	{"100.128.0.1", 1},
		{"0.0.0.0", 0},		{"224.0.0.1", 0},
		{"255.255.255.255", 0}, {"198.18.0.1", 0},
		{"192.0.0.8", 0},	{"11.0.0.1", 1},
	    },
	  v6[] = {
	      {"2001:4860:4860::8888", 1},
	      {"::1", 0},
	      {"::", 0},
	      {"fe80::1", 0},
	      {"fd00::5", 0},
	      {"fc00::1", 0},
	      {"ff02::1", 0},
	      {"::ffff:127.0.0.1", 0},
	      {"::ffff:10.0.0.1", 0},
	      {"::ffff:8.8.8.8", 1},
	  };

	(void)state;
	for (size_t i = 0; i < sizeof v4 / sizeof v4[0]; i++)
		if (public4(v4[i].a) != v4[i].pub)
			fail_msg("%s: public %d, wanted %d", v4[i].a,
				 !v4[i].pub, v4[i].pub);
	for (size_t i = 0; i < sizeof v6 / sizeof v6[0]; i++)
		if (public6(v6[i].a) != v6[i].pub)
			fail_msg("%s: public %d, wanted %d", v6[i].a,
				 !v6[i].pub, v6[i].pub);
}

/* An allowed name that resolves to loopback is refused unless private
 * targets are allowed; then the curl pin names the checked address. */
static void loopback_refused_after_resolution(void **state)
{
	struct hook_policy p;
	char err[CORE_ERR_LEN], why[CORE_ERR_LEN], pin[HOOK_RESOLVE_MAX];

	(void)state;
	assert_int_equal(hook_policy_parse("127.0.0.1", 0, &p, err, sizeof err),
			 0);
	assert_int_equal(hook_url_resolve(&p, "http://127.0.0.1:9/x", pin,
					  sizeof pin, why, sizeof why),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(why, "127.0.0.1"));
	assert_non_null(strstr(why, "--webhook-allow-private"));
	p.allow_private = 1;
	assert_int_equal(hook_url_resolve(&p, "http://127.0.0.1:9/x", pin,
					  sizeof pin, why, sizeof why),
			 CORE_OK);
	assert_string_equal(pin, "127.0.0.1:9:127.0.0.1");
}

/* RFC 4231 test case 2 */
static void hmac_matches_rfc4231(void **state)
{
	char hex[65];

	(void)state;
	assert_int_equal(
	    hook_sign("Jefe", "what do ya want for nothing?", 28, hex), 0);
	assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c7"
				 "5a003f089d2739839dec58b964ec3843");
}

static int spec_error(const char *webhook, const char *reason)
{
	char doc[1024];
	struct search_spec s;
	struct core_field_errors fe;
	char joined[2048];

	snprintf(doc, sizeof doc,
		 "{\"name\":\"j\",\"dataset\":{\"path\":\"/d\"},"
		 "\"webhook\":%s}",
		 webhook);
	if (search_spec_parse(doc, strlen(doc), &s, &fe) == CORE_OK)
		return 0;
	core_field_errors_join(&fe, joined, sizeof joined);
	if (!strstr(joined, reason))
		fail_msg("%s: '%s' lacks '%s'", webhook, joined, reason);
	return 1;
}

static void spec_webhook_member(void **state)
{
	const char *doc = "{\"name\":\"j\",\"dataset\":{\"path\":\"/d\"},"
			  "\"webhook\":{\"url\":\"https://h.example/x\"}}";
	struct search_spec s, back;
	struct core_field_errors fe;
	json_t *j;
	char *text;

	(void)state;
	assert_int_equal(search_spec_parse(doc, strlen(doc), &s, &fe), 0);
	assert_string_equal(s.webhook_url, "https://h.example/x");
	j = search_spec_to_json(&s);
	assert_non_null(j);
	text = json_dumps(j, JSON_COMPACT);
	assert_non_null(
	    strstr(text, "\"webhook\":{\"url\":\"https://h.example/x\"}"));
	assert_int_equal(search_spec_parse(text, strlen(text), &back, &fe), 0);
	assert_string_equal(back.webhook_url, s.webhook_url);
	free(text);
	json_decref(j);
	assert_true(spec_error("{\"url\":\"ftp://h/x\"}",
			       "webhook.url: must start with http"));
	assert_true(spec_error("{\"url\":\"https://u:p@h/x\"}",
			       "webhook.url: must not carry credentials"));
	assert_true(
	    spec_error("{\"url\":\"https:///x\"}", "webhook.url: has no host"));
	assert_true(spec_error("{}", "webhook.url"));
	assert_true(spec_error("{\"url\":\"https://h/x\",\"secret\":\"s\"}",
			       "webhook.secret"));
	assert_true(spec_error("\"https://h/x\"", "webhook"));
	/* an @ after the path is not a credential */
	assert_false(
	    spec_error("{\"url\":\"https://h.example/x?to=a@b\"}", "-"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(policy_syntax),
	    cmocka_unit_test(urls_against_the_allowlist),
	    cmocka_unit_test(addresses_public_or_not),
	    cmocka_unit_test(loopback_refused_after_resolution),
	    cmocka_unit_test(hmac_matches_rfc4231),
	    cmocka_unit_test(spec_webhook_member),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
