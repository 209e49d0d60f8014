/* ctrl/straitctl/print.h - straitctl's output: the API's JSON pretty
 * printed (-o json) or as tables for people, and flow records as one
 * line each. */
#ifndef STRAIT_CTRL_STRAITCTL_PRINT_H
#define STRAIT_CTRL_STRAITCTL_PRINT_H

#include <jansson.h>

void ctl_print_json(json_t *o);
void ctl_print_status(json_t *o);
void ctl_print_services(json_t *a);
void ctl_print_service(json_t *o);
void ctl_print_backends(json_t *a);
/* One flow record (GET /v1/flows) as one line; see docs/api.md. */
void ctl_print_flow(json_t *r);
/* print_mesh.c: GET /v1/mesh and GET /v1/mesh/services. */
void ctl_print_mesh(json_t *o);
void ctl_print_mesh_services(json_t *a);
/* print_ipsec.c: GET /v1/ipsec. */
void ctl_print_ipsec(json_t *o);

#endif
