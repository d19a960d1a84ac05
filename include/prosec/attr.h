/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one place where compiler attributes are spelled (STYLE.md): every
 * other file uses these wrappers, so a port to another compiler edits only
 * this header.
 */
#ifndef PROSEC_ATTR_H
#define PROSEC_ATTR_H

#if defined(__GNUC__) || defined(__clang__)
#define PROSEC_WARN_UNUSED       __attribute__((warn_unused_result))
#define PROSEC_API               __attribute__((visibility("default")))
#define PROSEC_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define PROSEC_UNUSED            __attribute__((unused))
#else
#define PROSEC_WARN_UNUSED
#define PROSEC_API
#define PROSEC_PRINTF(fmt, args)
#define PROSEC_UNUSED
#endif

#endif
