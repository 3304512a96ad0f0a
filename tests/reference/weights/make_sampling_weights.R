# Reference fits with *sampling* weights (civmodels weights=): the sandwich covariance of R
# survey for a design without clusters, svydesign(ids = ~1, weights = ~w), and with
# municipality clusters, svydesign(ids = ~municipality, weights = ~w). survey's
# with-replacement variance of the score totals uses the factor n/(n-1) (G/(G-1) with
# clusters); civmodels uses the same factor for sampling weights. A weighted polr fit with
# sandwich::vcovCL(type = "HC0", cadjust = TRUE) (factor G/(G-1)) is the second, independent
# reference for the clustered ordinal case.
# Data: ../ordinal/survey_sim.csv (made by ../ordinal/make_svyolr.R). Some rows get weight 0
# in a copy (zero_weight.csv) to check that they leave nobs and do not change the fit.
# Run from this folder: Rscript make_sampling_weights.R
suppressPackageStartupMessages({library(survey); library(MASS); library(sandwich)})
source("../ordinal/_common.R")
d <- read.csv("../ordinal/survey_sim.csv")
d$y <- factor(d$y, levels = 1:4, ordered = TRUE)
f <- y ~ x1 + x2 + region + bloc + area
fb <- z ~ x1 + x2 + region + bloc + area
ctl <- list(reltol = 1e-14, maxit = 2000)
olr_est <- function(m) c(m$zeta, coef(m)[!names(coef(m)) %in% names(m$zeta)])
extra <- function(n) list(nobs = n, sandwich_factor = "n/(n-1)")

des1 <- svydesign(ids = ~1, weights = ~weight, data = d)
m <- svyolr(f, design = des1, control = ctl)
est <- olr_est(m)
write_json(dump_fit(est, sqrt(diag(vcov(m)))[names(est)], NA, extra(nrow(d))),
           "svyolr_ids1.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
g <- svyglm(fb, design = des1, family = quasibinomial(), control = glm.control(epsilon = 1e-14))
write_json(dump_fit(coef(g), sqrt(diag(vcov(g))), NA, extra(nrow(d))),
           "svyglm_ids1.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)

# clusters: the same survey factor G/(G-1)
desc <- svydesign(ids = ~municipality, weights = ~weight, data = d)
mc <- svyolr(f, design = desc, control = ctl)
est <- olr_est(mc)
write_json(dump_fit(est, sqrt(diag(vcov(mc)))[names(est)], NA,
                    list(n_clusters = length(unique(d$municipality)))),
           "svyolr_cluster.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
gc <- svyglm(fb, design = desc, family = quasibinomial(), control = glm.control(epsilon = 1e-14))
write_json(dump_fit(coef(gc), sqrt(diag(vcov(gc))), NA,
                    list(n_clusters = length(unique(d$municipality)))),
           "svyglm_cluster.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)

# independent route: weighted glm + sandwich::vcovCL with the G/(G-1) adjustment only
gl <- suppressWarnings(glm(fb, data = d, weights = weight, family = binomial(),
                           control = glm.control(epsilon = 1e-14, maxit = 100)))
vc <- vcovCL(gl, cluster = ~municipality, type = "HC0", cadjust = TRUE)
write_json(dump_fit(coef(gl), sqrt(diag(vc)), NA, list(route = "glm + vcovCL(HC0, cadjust)")),
           "glm_vcovCL.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)

# zero weights: 20 rows get weight 0; survey drops nothing but they contribute no score
dz <- d
set.seed(7)
dz$weight[sample(nrow(dz), 20)] <- 0
write.csv(transform(dz, y = as.integer(as.character(y))), "zero_weight.csv", row.names = FALSE)
dzp <- dz[dz$weight > 0, ]
mz <- svyolr(f, design = svydesign(ids = ~1, weights = ~weight, data = dzp), control = ctl)
est <- olr_est(mz)
write_json(dump_fit(est, sqrt(diag(vcov(mz)))[names(est)], NA, extra(nrow(dzp))),
           "svyolr_ids1_zero.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
