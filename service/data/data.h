/* SPDX-License-Identifier: Apache-2.0 */
/* data.h - training data for lmnas: CIFAR-10/100 binary readers, the seeded
 * stratified validation split, normalization and augmentation kernels, the
 * multithreaded prefetching batch loader and the teacher-logits .npy reader.
 *
 * Layer: data sits right above core (beside nn, space, cost) and includes
 * only core. train uses it; it never includes nn (it has its own bilinear
 * resize).
 *
 * Worked example (train on 95% of CIFAR-100 train, score on the other 5%):
 *
 *   struct data_set ds;
 *   struct data_subsets sub;
 *   struct data_split_cfg sc = {.val_fraction = 0.05, .train_fraction = 1.0,
 *                               .seed = 7};
 *   struct data_loader_cfg lc;
 *   struct data_loader *ld;
 *   const struct data_batch *b;
 *
 *   data_cifar_load(dir, DATA_KIND_CIFAR100, DATA_SPLIT_TRAIN, &ds, err, n);
 *   data_split_stratified(&ds, &sc, &sub, err, n);
 *   data_loader_cfg_default(&lc, &ds);
 *   lc.indices = sub.train; lc.n_indices = sub.n_train;
 *   lc.resolution = 64; lc.batch_size = 128; lc.threads = 2;
 *   data_loader_open(&lc, &ld, err, n);
 *   while (data_loader_next(ld, &b, err, n) == CORE_OK && b) {
 *       ... b->x (b->n, 64, 64, 3), b->y, b->record ...
 *   }
 *   data_loader_close(ld); data_subsets_free(&sub); data_set_free(&ds);
 *
 * Image pipeline of one training sample (eval: steps 3 and 5 only):
 *   1. the uint8 HWC 32x32 image is zero-padded by `crop_padding` pixels
 *      (value 0 = black, *before* normalization, as torchvision's
 *      RandomCrop(32, padding=4) on a PIL image) and a 32x32 window is cut at
 *      offsets (dy, dx), each uniform in 0..2*padding;
 *   2. horizontal flip with probability 0.5;
 *   3. normalization (v/255 - mean[c]) / std[c] in float32, the same
 *      operations as ToTensor + Normalize (bit-identical); a padded pixel
 *      becomes -mean[c]/std[c], not 0;
 *   4. cutout (optional, size S): center (cy, cx) uniform in the 32x32 image,
 *      rows [cy - S/2, cy + S/2) and the same columns (integer S/2, clipped
 *      to the image) set to 0 *after* normalization, as in DeVries & Taylor's
 *      reference code; applied at the 32x32 source resolution;
 *   5. bilinear resize to R x R, torch.nn.functional.interpolate(
 *      mode='bilinear', align_corners=False, antialias=False) semantics.
 * Every random draw of a sample comes from a generator seeded by
 * (seed, epoch, record index), so the output never depends on threads or
 * timing.
 */
#ifndef LMNAS_DATA_H
#define LMNAS_DATA_H

#include "core/core.h"

#include <jansson.h>

#include <stdint.h>

#define DATA_IMAGE_SIZE	    32 /* CIFAR images are 32x32x3 */
#define DATA_IMAGE_CHANNELS 3
#define DATA_IMAGE_BYTES    (DATA_IMAGE_SIZE * DATA_IMAGE_SIZE * 3)

/* A CIFAR file larger than this is refused before anything is allocated
 * (train.bin is 153,700,000 bytes). */
#define DATA_CIFAR_MAX_FILE_BYTES (256u * 1024u * 1024u)
#define DATA_LABEL_NAME_MAX	  64 /* bytes per class name, NUL included */
#define DATA_MIN_RESOLUTION	  8
#define DATA_MAX_RESOLUTION	  512

/* ---- data sets ---------------------------------------------------------- */

/* DATA_KIND_CACHE: an import cache directory (data_cache_load, below). */
enum data_kind { DATA_KIND_CIFAR10 = 0, DATA_KIND_CIFAR100, DATA_KIND_CACHE };
enum data_split { DATA_SPLIT_TRAIN = 0, DATA_SPLIT_TEST, DATA_SPLIT_VAL };

/* "cifar10", "cifar100", "cache" / "train", "test", "val". */
const char *data_kind_name(enum data_kind k);
const char *data_split_name(enum data_split s);
enum core_status data_kind_parse(const char *s, enum data_kind *out);
enum core_status data_split_parse(const char *s, enum data_split *out);
/* 10 or 100 (fine labels); 0 for a cache (its index says). */
int data_kind_classes(enum data_kind k);

/* A whole CIFAR file set in memory. Record i is the i-th record of the
 * split's files in file order (CIFAR-10 train: data_batch_1..5 concatenated),
 * which is the order teacher logits are indexed by. Owned by the caller:
 * data_set_free. */
struct data_set {
	enum data_kind kind;
	enum data_split split;
	int n;		   /* records */
	int classes;	   /* label range 0..classes-1 */
	int height, width; /* of every record: 32 x 32 for CIFAR; 0 = 32 */
	uint8_t *pixels;   /* (n, height, width, 3) HWC, one allocation or
			    * inside map */
	int32_t *labels;   /* (n) fine label (CIFAR-100) or label (CIFAR-10) */
	int32_t *coarse;   /* (n) CIFAR-100 coarse label 0..19; NULL for C-10 */
	char *label_names; /* (classes, DATA_LABEL_NAME_MAX) or NULL */
	char *coarse_names; /* (20, DATA_LABEL_NAME_MAX) or NULL */
	int has_stats;	    /* 1: mean/std below (a cache's), used by
			     * data_loader_cfg_default instead of the kind's */
	float mean[3], std[3];
	void *map; /* a cache's mmap of its pixel file (munmap'd by free) */
	size_t map_len;
};

/* Record size of ds in bytes (height * width * 3). */
size_t data_set_record_bytes(const struct data_set *ds);

/* Loads split `split` of a data set of any kind: CIFAR via data_cifar_load
 * (no val split), a cache via data_cache_load. */
enum core_status data_set_load(const char *dir, enum data_kind kind,
			       enum data_split split, struct data_set *ds,
			       char *err, size_t errlen);

/* Loads split `split` of the CIFAR-10 or CIFAR-100 binary files in dir
 * (CIFAR-10: data_batch_1..5.bin, test_batch.bin, names from
 * batches.meta.txt; CIFAR-100: train.bin, test.bin, names from
 * fine_label_names.txt and coarse_label_names.txt). Name files are optional:
 * absent means NULL names; present but malformed is an error. Validates each
 * file (regular, non-empty, at most DATA_CIFAR_MAX_FILE_BYTES, a whole number
 * of records, every label in range) with errors naming the file and record
 * ("<dir>/train.bin: record 1234: fine label 117 is outside 0..99").
 * Returns CORE_ERR_NOT_FOUND when a data file is missing. On failure *ds is
 * zeroed and nothing stays allocated. */
enum core_status data_cifar_load(const char *dir, enum data_kind kind,
				 enum data_split split, struct data_set *ds,
				 char *err, size_t errlen);

/* Reads `classes` class names, one a line ('\r' and trailing blank lines
 * ignored; each name 1..DATA_LABEL_NAME_MAX-1 bytes) into a new
 * (classes, DATA_LABEL_NAME_MAX) array owned by the caller (core_free). */
enum core_status data_label_names_load(const char *path, int classes,
				       char **names, char *err, size_t errlen);

/* An in-memory data set of n zeroed images (tests, synthetic benchmarks). */
enum core_status data_set_alloc(struct data_set *ds, enum data_kind kind,
				enum data_split split, int n, char *err,
				size_t errlen);
void data_set_free(struct data_set *ds);
/* Class name of label c, or NULL when names were not loaded. */
const char *data_set_label_name(const struct data_set *ds, int c);

/* ---- image decoding (image.c) ------------------------------------------ */

/* Files above these are refused from their header, before any allocation. */
#define DATA_IMAGE_MAX_SIDE    16384
#define DATA_IMAGE_MAX_PIXELS  (64ll * 1024 * 1024)
#define DATA_IMAGE_HEADER_ONLY 1 /* flag: size and format, no pixels */

struct data_image {
	int width, height;   /* after EXIF orientation */
	uint8_t *rgb;	     /* (height, width, 3) HWC; NULL header-only */
	const char *format;  /* "png" or "jpeg" (static) */
	int source_channels; /* 1 gray, 3 colour, 4 CMYK (JPEG) */
	int source_depth;    /* bits per sample in the file */
	int orientation;     /* EXIF 1..8 (JPEG), applied; 1 for PNG */
};

/* Decodes a PNG (1..16-bit gray, gray+alpha, palette, RGB, RGBA) or JPEG
 * (gray, YCbCr/RGB, CMYK/YCCK: converted, Adobe-inverted inks when the
 * Adobe marker says so) held in buf into RGB uint8: gray is replicated to
 * three channels, alpha is dropped (not composited), 16-bit samples keep
 * their high byte, JPEG EXIF orientation is applied. Sizes are checked
 * against DATA_IMAGE_MAX_* from the header first. Every library error
 * becomes CORE_ERR_INVALID with the reason in err ("png: IHDR: CRC
 * error", "jpeg: Premature end of JPEG file"...). On failure *im is
 * zeroed; on success im->rgb is the caller's (data_image_free). */
enum core_status data_image_decode(const uint8_t *buf, size_t len, int flags,
				   struct data_image *im, char *err,
				   size_t errlen);
void data_image_free(struct data_image *im);
/* Orientation tag (1..8) of an APP1 "Exif\0\0" payload; 1 when absent or
 * malformed. */
int data_exif_orientation(const uint8_t *app1, size_t n);

/* ---- import cache (import.c, cache.c) ------------------------------------ */

/* A cache directory holds pixels.u8 (records of height x width x 3 uint8
 * HWC, ordered by split: train, val, test; within a split by class, then
 * source name), index.json (format "lmnas-cache" version 1, height, width,
 * classes, mean, std, split ranges, labels and source names per record)
 * and report.json (the import report). */
#define DATA_CACHE_PIXELS      "pixels.u8"
#define DATA_CACHE_INDEX       "index.json"
#define DATA_CACHE_REPORT      "report.json"
#define DATA_CACHE_MAX_CLASSES 10000
#define DATA_CACHE_MAX_RECORDS (1 << 22)

struct data_import_opts {
	int resolution;		 /* stored side cap, default 256 */
	double val_fraction;	 /* when the upload has no val/ (0.1) */
	double test_fraction;	 /* when the upload has no test/ (0.1) */
	uint64_t seed;		 /* of the stratified split */
	double max_bad_fraction; /* more bad files fail the import (0.05) */
	int threads; /* decoding threads, 0..64 (0, 1: one); the cache is the
		      * same for any count */
};
void data_import_opts_default(struct data_import_opts *o);

/* Imports an ImageFolder directory (src/<class>/<files> or
 * src/{train,val,test}/<class>/<files>; PNG and JPEG by signature, other
 * files and dot files ignored) or a CIFAR-10/100 binary directory (found by
 * its file names) into a new cache directory cache_dir (must not exist;
 * written under a temporary name and renamed, so it appears whole or not at
 * all). Crop policy: centre crop to a square of the shorter side, then
 * resized (antialiased triangle filter) to S x S where S = min(resolution,
 * the smallest shorter side among the images); CIFAR stays 32 x 32.
 * progress (may be NULL) is called with a fraction 0..1 and the phase.
 * *report (the caller's, json_decref) receives classes, counts per class
 * and split, image size statistics, mean/std, duplicates (same content
 * hash), bad files with reasons and the crop policy. Fails
 * (CORE_ERR_INVALID, reason in err, *report still set when the scan got
 * that far) with no class, one class, an empty class, or more than
 * max_bad_fraction bad files. */
enum core_status
data_import_dir(const char *src_dir, const char *cache_dir,
		const struct data_import_opts *o,
		void (*progress)(double frac, const char *what, void *ctx),
		void *ctx, json_t **report, char *err, size_t errlen);

/* Opens split `split` of the cache in dir: its pixels are a read-only
 * mmap of the split's range of pixels.u8 (not read whole), labels and class
 * names copied, mean/std from the index (has_stats = 1). Validates the
 * index against the file size. On failure *ds is zeroed. */
enum core_status data_cache_load(const char *dir, enum data_split split,
				 struct data_set *ds, char *err, size_t errlen);

/* Resizes a square-cropped region: out (os, os, 3) uint8 from the centre
 * square of in (h, w, 3) with a triangle (bilinear) filter whose support
 * grows with the scale (antialiased like PIL's BILINEAR resize).
 * CORE_ERR_NOMEM when its temporary cannot be allocated. */
enum core_status data_image_crop_resize(uint8_t *out, int os, const uint8_t *in,
					int h, int w);

/* ---- stratified split --------------------------------------------------- */

struct data_split_cfg {
	double val_fraction;   /* [0, 1): held out per class for validation */
	double train_fraction; /* (0, 1]: of the rest, kept for training */
	uint64_t seed;
};

/* Record indices, each list sorted ascending; owned by the struct. */
struct data_subsets {
	int32_t *train; /* (n_train) */
	int n_train;
	int32_t *val; /* (n_val) */
	int n_val;
};

/* For each class c with n_c records: a permutation of its records drawn
 * from (seed, c); the first round(n_c * val_fraction) go to val, the next
 * round((n_c - n_val_c) * train_fraction) to train (round = half up).
 * Deterministic for a seed; the validation set does not depend on
 * train_fraction and a smaller train_fraction gives a subset of a larger
 * one's training set. val and train are disjoint. With val_fraction 0 it
 * draws a stratified subset (e.g. of the class-grouped CIFAR-100 test.bin).
 * Fails (CORE_ERR_INVALID) when the training part would be empty. On
 * failure *out is zeroed. */
enum core_status data_split_stratified(const struct data_set *ds,
				       const struct data_split_cfg *cfg,
				       struct data_subsets *out, char *err,
				       size_t errlen);
void data_subsets_free(struct data_subsets *s);

/* ---- normalization and augmentation kernels (never allocate) ------------ */

/* A seed derived from (seed, tag, a, b) by chained splitmix64 finalizers.
 * lmnas uses tag 'A' for a sample's augmentation (a = epoch, b = record),
 * 'S' for an epoch's shuffle (a = epoch) and 'V' for a class's split
 * permutation (a = class). */
uint64_t data_seed_derive(uint64_t seed, uint32_t tag, int64_t a, int64_t b);

/* Per-channel training-set statistics of the kind (pixel/255): CIFAR-100
 * 0.50708 0.48655 0.44092 / 0.26733 0.25644 0.27615; CIFAR-10 0.4914 0.4822
 * 0.4465 / 0.2470 0.2435 0.2616. */
void data_norm_default(enum data_kind kind, float mean[3], float std[3]);

/* lut[c][v] = ((float)v / 255 - mean[c]) / std[c] in float32. std[c] > 0. */
void data_norm_table(float lut[3][256], const float mean[3],
		     const float std[3]);

/* The random choices of one sample. */
struct data_aug {
	int dy, dx; /* crop window offset in the padded image, 0..2*pad */
	int flip;   /* 1: mirror left-right */
	int cy, cx; /* cutout center, 0..31 */
};

/* Draws the choices of record `record` in epoch `epoch` for padding pad
 * (0 disables cropping: dy = dx = 0). Always draws every value in a fixed
 * order, so switching cutout or flip off does not change the other draws. */
void data_aug_draw(struct data_aug *a, uint64_t seed, int epoch, int record,
		   int pad);

/* out (h, w, 3) float = normalize(flip(crop(pad(img)))) for img (h, w, 3)
 * uint8 HWC. With a == NULL: plain normalization. */
void data_crop_flip_normalize(float *out, const uint8_t *img, int h, int w,
			      int pad, const struct data_aug *a,
			      const float lut[3][256]);

/* Zeroes rows [cy - size/2, cy + size/2) x cols [cx - size/2, cx + size/2)
 * of img (h, w, c), clipped to the image. size 0: no-op. */
void data_cutout(float *img, int h, int w, int c, int cy, int cx, int size);

/* out (oh, ow, c) = bilinear resize of in (ih, iw, c), align_corners=False
 * (PyTorch: src = (dst + 0.5) * in/out - 0.5, clamped at 0; no antialias),
 * with the weights and the order of float operations of torch 1.13's CPU
 * kernel (measured max abs difference 2.4e-7, one ulp: fused multiply-adds
 * in the torch build, most likely).
 * scratch holds data_resize_scratch_size(ih, ow, c) floats. out, in and
 * scratch must not overlap. */
size_t data_resize_scratch_size(int ih, int ow, int c);
void data_resize_bilinear(float *out, int oh, int ow, const float *in, int ih,
			  int iw, int c, float *scratch);

/* ---- prefetching loader ------------------------------------------------- */

struct data_loader_cfg {
	const struct data_set *ds; /* borrowed: must outlive the loader */
	const int32_t *indices;	   /* records to serve (copied); NULL = all */
	int n_indices;
	int batch_size;	  /* 1..65536 */
	int resolution;	  /* output R, DATA_MIN..MAX_RESOLUTION */
	int shuffle;	  /* 1: a new permutation every epoch */
	int augment;	  /* 1: crop/flip/cutout; 0: normalize + resize */
	int crop_padding; /* 0..16, default 4 */
	int flip;	  /* 1: horizontal flip p=0.5 (with augment) */
	int cutout;	  /* square size 0..32, 0 = off (with augment) */
	int drop_last;	  /* 1: drop an epoch's last partial batch */
	float mean[3], std[3];
	uint64_t seed;
	int threads;		      /* worker threads, 1..64 */
	int prefetch;		      /* ring slots, 1..256 */
	int start_epoch, start_batch; /* resume point (first batch served) */
	int epochs; /* > 0: end after batch bpe-1 of epoch epochs-1; 0: never */
};

/* One batch. Memory owned by the loader, valid until the next
 * data_loader_next or data_loader_close. */
struct data_batch {
	int n; /* samples; < batch_size only for a partial last batch */
	int resolution; /* R */
	int epoch;	/* epoch and batch number within it */
	int index;
	float *x;	 /* (n, R, R, 3) NHWC, normalized */
	int32_t *y;	 /* (n) labels */
	int32_t *record; /* (n) record indices into ds (training-file order) */
};

/* Defaults for ds: batch 128, resolution 32, shuffle, augment, padding 4,
 * flip, no cutout, keep last, the kind's statistics, seed 0, 1 thread,
 * prefetch 4, start (0, 0), epochs 0 (endless). */
void data_loader_cfg_default(struct data_loader_cfg *cfg,
			     const struct data_set *ds);

struct data_loader; /* opaque */

/* Validates cfg, allocates the ring (prefetch * batch_size * R*R*3 floats,
 * refused above 4 GiB) and starts the workers, which begin filling at
 * (start_epoch, start_batch). Batch b of epoch e depends only on (cfg minus
 * threads/prefetch, e, b). On failure *out is NULL, nothing is left
 * running or allocated. */
enum core_status data_loader_open(const struct data_loader_cfg *cfg,
				  struct data_loader **out, char *err,
				  size_t errlen);

/* Blocks until the next batch in order is ready and returns it; releases
 * the previously returned batch. *out = NULL (and CORE_OK) once `epochs`
 * epochs have been served. */
enum core_status data_loader_next(struct data_loader *ld,
				  const struct data_batch **out, char *err,
				  size_t errlen);

/* Batches in one epoch. */
long data_loader_batches_per_epoch(const struct data_loader *ld);

/* (epoch, batch) of the batch the next data_loader_next returns: store it in
 * a checkpoint and pass it back as start_epoch/start_batch to resume. */
void data_loader_position(const struct data_loader *ld, int *epoch, int *batch);

/* Stops the workers (at most one batch each is finished), joins them and
 * frees everything. NULL is a no-op. Safe at any point, mid-epoch too. */
void data_loader_close(struct data_loader *ld);

/* ---- .npy teacher logits ------------------------------------------------ */

#define DATA_NPY_MAX_HEADER 65536 /* header dict bytes */
#define DATA_NPY_MAX_BYTES  (2048ull * 1024 * 1024)

enum data_npy_dtype { DATA_NPY_F4 = 0, DATA_NPY_F2 };

struct data_npy_header {
	int version;		   /* 1, 2 or 3 */
	enum data_npy_dtype dtype; /* '<f4' or '<f2' */
	int ndim;		   /* 2 */
	int64_t shape[2];
	size_t data_offset; /* bytes before the array data */
};

/* Parses the preamble and header dict of an .npy file from its first len
 * bytes (len may exceed the header). Accepts only little-endian float32 or
 * float16, C order, two dimensions with each dim in 0..2^31-1. Keys may come
 * in any order; a missing, repeated or unknown key is an error.
 * CORE_ERR_INVALID with the reason in err. */
enum core_status data_npy_header_parse(const uint8_t *buf, size_t len,
				       struct data_npy_header *h, char *err,
				       size_t errlen);

/* IEEE half bits -> float (subnormals, inf and NaN kept). */
float data_half_to_float(uint16_t h);

/* Teacher logits: row i belongs to record i of the training files. */
struct data_logits {
	int n; /* records */
	int classes;
	float *v; /* (n, classes) row-major, owned: data_logits_free */
};

/* Reads an (n, classes) '<f4' or '<f2' .npy into float32. n must equal
 * expect_n and classes expect_classes; the data must be exactly
 * n*classes*itemsize bytes after the header; every value finite. On failure
 * *out is zeroed. */
enum core_status data_npy_read_logits(const char *path, int expect_n,
				      int expect_classes,
				      struct data_logits *out, char *err,
				      size_t errlen);

/* The same checked against a training set (split train, all its records). */
enum core_status data_logits_load(const char *path,
				  const struct data_set *train,
				  struct data_logits *out, char *err,
				  size_t errlen);
void data_logits_free(struct data_logits *l);

#endif
