# Reference fixtures for civmodels.design / civmodels.crosstab / civmodels.nonresponse.raking
# Run from this directory:  Rscript make_survey.R
# Writes api_clus1.csv, api_strat.csv, sim_survey.csv (inputs) and survey_reference.json.
suppressPackageStartupMessages({library(survey); library(jsonlite)})
options(survey.lonely.psu = "fail")
data(api)
keep <- c("cds", "stype", "dnum", "snum", "pw", "fpc", "api00", "api99", "enroll",
          "sch.wide", "comp.imp", "awards", "yr.rnd", "acs.k3")
clus1 <- apiclus1[, keep]
strat <- apistrat[, keep]
write.csv(clus1, "api_clus1.csv", row.names = FALSE)
write.csv(strat, "api_strat.csv", row.names = FALSE)

# A survey-shaped simulated set: 98 municipalities (PSUs) in 5 regions, ~440 respondents,
# an ordinal item with missing values and a pressure split.
set.seed(20151001)
n_mun <- 98
mun <- data.frame(municipality = 1:n_mun,
                  region = sample(c("H", "S", "D", "M", "N"), n_mun, replace = TRUE),
                  pressure_high = rep(c(0, 1), length.out = n_mun),
                  u = rnorm(n_mun, sd = 0.5))
rows <- do.call(rbind, lapply(1:n_mun, function(m) {
  k <- sample(2:7, 1)
  data.frame(municipality = m, area = sample(c("social", "health", "school", "culture"), k,
                                             replace = TRUE))
}))
sim <- merge(rows, mun, by = "municipality")
eta <- 0.6 * sim$pressure_high + ifelse(sim$area == "social", 0.5, 0) + sim$u + rlogis(nrow(sim))
sim$mot <- cut(eta, c(-Inf, -0.5, 0.7, 1.8, Inf), labels = c("1", "2", "3", "4"))
sim$mot[sample(nrow(sim), 25)] <- NA
sim$w <- round(runif(nrow(sim), 1, 3.5), 3)
sim$n_municipalities <- 98
sim$position <- seq_len(nrow(sim))
# positions in each municipality's population: the sampled ones plus some nonrespondents
sim$n_positions <- ave(sim$position, sim$municipality, FUN = length) + (sim$municipality %% 4)
write.csv(sim, "sim_survey.csv", row.names = FALSE, na = "")

out <- list(versions = list(R = R.version.string, survey = as.character(packageVersion("survey"))))
est <- function(x) {
  v <- as.matrix(vcov(x))
  list(names = names(coef(x)), estimate = unname(coef(x)), vcov = unname(v),
       se = unname(sqrt(diag(v))),
       deff = if (!is.null(attr(x, "deff"))) unname(diag(as.matrix(attr(x, "deff")))) else NULL)
}
chisq <- function(f, d) {
  a <- svychisq(f, d, statistic = "F")
  b <- svychisq(f, d, statistic = "Chisq")
  p <- suppressWarnings(chisq.test(svytable(f, d, Ntotal = nrow(d$variables)), correct = FALSE))
  list(F = unname(a$statistic), ndf = unname(a$parameter[1]), ddf = unname(a$parameter[2]),
       p_F = unname(a$p.value), X2 = unname(b$statistic), df_chisq = unname(b$parameter),
       p_chisq = unname(b$p.value), pearson_p = unname(p$p.value))
}

dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = clus1, fpc = ~fpc)
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = strat, fpc = ~fpc)
dsc <- svydesign(id = ~dnum, strata = ~stype, weights = ~pw, data = strat, nest = TRUE)
dclus1_nofpc <- svydesign(id = ~dnum, weights = ~pw, data = clus1)

out$clus1_mean <- est(svymean(~api00 + enroll, dclus1, deff = "replace"))
out$clus1_total <- est(svytotal(~enroll, dclus1, deff = "replace"))
out$clus1_prop_stype <- est(svymean(~stype, dclus1, deff = "replace"))
out$clus1_nofpc_mean <- est(svymean(~api00, dclus1_nofpc))
out$clus1_mean_acs_narm <- est(svymean(~acs.k3, dclus1, na.rm = TRUE))
by1 <- svyby(~api00, ~stype, dclus1, svymean, covmat = TRUE)
out$clus1_by_stype <- list(levels = as.character(by1$stype), estimate = unname(coef(by1)),
                           vcov = unname(as.matrix(vcov(by1))))
out$clus1_subset_E <- est(svymean(~api00, subset(dclus1, stype == "E")))
ci_logit <- function(f, d) {
  ci <- svyciprop(f, d, method = "logit", level = 0.95)
  list(estimate = as.numeric(ci), ci = as.numeric(attr(ci, "ci")))
}
out$ciprop_clus1_yrrnd <- ci_logit(~I(yr.rnd == "Yes"), dclus1)
out$ciprop_clus1_awards <- ci_logit(~I(awards == "Yes"), dclus1)
out$strat_mean <- est(svymean(~api00 + enroll, dstrat, deff = "replace"))
out$strat_total <- est(svytotal(~enroll, dstrat))
out$strat_prop_awards <- est(svymean(~awards, dstrat))
out$stratclus_mean <- est(svymean(~api00, dsc))
out$stratclus_degf <- degf(dsc)

out$chisq_clus1_schwide_stype <- chisq(~sch.wide + stype, dclus1)
out$chisq_clus1_awards_compimp <- chisq(~awards + comp.imp, dclus1)
out$chisq_strat_awards_stype <- chisq(~awards + stype, dstrat)
out$chisq_stratclus_yrrnd_stype <- chisq(~yr.rnd + stype, dsc)

# raking and calibration
pop_types <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
pop_schwide <- data.frame(sch.wide = c("No", "Yes"), Freq = c(1072, 5122))
rk <- rake(dclus1, list(~stype, ~sch.wide), list(pop_types, pop_schwide),
           control = list(maxit = 200, epsilon = 1e-12))
out$rake_weights <- unname(weights(rk))
out$rake_mean_api00 <- est(svymean(~api00, rk))
out$rake_prop_awards <- est(svymean(~awards, rk))
out$rake_subset_E <- est(svymean(~api00, subset(rk, stype == "E")))
ps <- postStratify(dclus1, ~stype, pop_types)
out$poststrat_weights <- unname(weights(ps))
out$poststrat_mean_api00 <- est(svymean(~api00, ps))
pop_lin <- c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, api99 = 3914069)
cl <- calibrate(dclus1, ~stype + api99, pop_lin)
out$calib_linear_weights <- unname(weights(cl))
out$calib_linear_mean_api00 <- est(svymean(~api00, cl))
clb <- calibrate(dclus1, ~stype + api99, pop_lin, bounds = c(0.7, 1.7), maxit = 200,
                 epsilon = 1e-10)
out$calib_linear_bounded_weights <- unname(weights(clb))
clr <- calibrate(dclus1, ~stype + api99, pop_lin, calfun = "raking", bounds = c(0.7, 1.7),
                 maxit = 200, epsilon = 1e-10)
out$calib_raking_bounded_weights <- unname(weights(clr))
out$calib_raking_bounded_mean_api00 <- est(svymean(~api00, clr))
cll <- calibrate(dclus1, ~stype + api99, pop_lin, calfun = "logit", bounds = c(0.7, 1.7),
                 maxit = 200, epsilon = 1e-10)
out$calib_logit_bounded_weights <- unname(weights(cll))

# survey-shaped simulated set
# Every municipality is in the set, so fpc = 98 would make the one-stage variance exactly
# zero (a census of PSUs); the reference design therefore treats PSUs as sampled with
# replacement (no fpc), and sim_census_prop_mot records the zero-variance case.
dsim_census <- svydesign(id = ~municipality, weights = ~w, data = sim, fpc = ~n_municipalities)
out$sim_census_prop_mot <- est(svymean(~factor(mot), dsim_census, na.rm = TRUE))
dsim <- svydesign(id = ~municipality, weights = ~w, data = sim)
sim$mot_f <- sim$mot
dsim <- update(dsim, mot_f = factor(mot))
out$sim_prop_mot <- est(svymean(~mot_f, dsim, na.rm = TRUE, deff = "replace"))
# svyby(covmat = TRUE) fails with na.rm = TRUE in survey 4.1-1, so standard errors only
bys <- svyby(~mot_f, ~pressure_high, dsim, svymean, na.rm = TRUE)
out$sim_by_pressure <- list(estimate = unname(coef(bys)), se = unname(SE(bys)),
                            names = names(coef(bys)))
out$chisq_sim_pressure_mot <- chisq(~pressure_high + mot, dsim)
out$chisq_sim_area_mot <- chisq(~area + mot, dsim)

# two-stage: census of municipalities, positions sampled within them
d2 <- svydesign(id = ~municipality + position, fpc = ~n_municipalities + n_positions,
                weights = ~w, data = sim)
d2 <- update(d2, mot_f = factor(mot))
out$twostage_prop_mot <- est(svymean(~mot_f, d2, na.rm = TRUE))
out$twostage_mean_pressure <- est(svymean(~pressure_high, d2))
out$chisq_twostage_area_mot <- chisq(~area + mot, d2)
# two-stage with a stage-one sample: pretend the 98 municipalities come from 150
sim$n_mun150 <- 150
d2b <- svydesign(id = ~municipality + position, fpc = ~n_mun150 + n_positions, weights = ~w,
                 data = sim)
out$twostage150_mean_pressure <- est(svymean(~pressure_high, d2b))

write_json(out, "survey_reference.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
cat("wrote survey_reference.json\n")
