/* SPDX-License-Identifier: Apache-2.0 */
/* libprosec: security for 3GPP ProSe one-to-many communication. */
#ifndef PROSEC_PROSEC_H
#define PROSEC_PROSEC_H

#include "agent.h"
#include "attr.h"
#include "constants.h"
#include "crypto.h"
#include "device.h"
#include "error.h"
#include "group.h"
#include "kdf.h"
#include "keyreq.h"
#include "keystore.h"
#include "kmf.h"
#include "log.h"
#include "mikey.h"
#include "relay.h"
#include "wire.h"

#define PROSEC_VERSION "0.1.0"

/* The version of the library actually linked, e.g. "0.1.0". */
PROSEC_API const char *prosec_version(void);

#endif
