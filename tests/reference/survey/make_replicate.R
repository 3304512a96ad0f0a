# Replicate-weight reference fixtures for civmodels.design.ReplicateDesign.
# Run from this directory:  Rscript make_replicate.R
# Reads api_clus1.csv, api_strat.csv, sim_survey.csv (written by make_survey.R); writes
# replicate_reference.json and subboot_weights_*.csv (the Rao-Wu bootstrap replicate weights
# R drew, so Python can be compared on identical replicate weights: the RNGs differ).
suppressPackageStartupMessages({library(survey); library(jsonlite)})
options(survey.lonely.psu = "fail", survey.replicates.mse = FALSE)
clus1 <- read.csv("api_clus1.csv")
strat <- read.csv("api_strat.csv")
sim <- read.csv("sim_survey.csv")

out <- list(versions = list(R = R.version.string, survey = as.character(packageVersion("survey"))))
est <- function(x) {
  v <- as.matrix(vcov(x))
  list(names = names(coef(x)), estimate = unname(coef(x)), vcov = unname(v),
       se = unname(sqrt(diag(v))))
}
chisq <- function(f, d) {
  a <- svychisq(f, d, statistic = "F")
  b <- svychisq(f, d, statistic = "Chisq")
  list(F = unname(a$statistic), ndf = unname(a$parameter[1]), ddf = unname(a$parameter[2]),
       p_F = unname(a$p.value), X2 = unname(b$statistic), p_chisq = unname(b$p.value))
}
info <- function(d) list(scale = d$scale, rscales = unname(d$rscales), degf = degf(d),
                         n_replicates = ncol(d$repweights$weights %||% d$repweights))
`%||%` <- function(a, b) if (is.null(a)) b else a

# --- JK1: one-stage cluster sample of school districts, with and without fpc
jk1 <- as.svrepdesign(svydesign(id = ~dnum, weights = ~pw, data = clus1), type = "JK1")
jk1f <- as.svrepdesign(svydesign(id = ~dnum, weights = ~pw, data = clus1, fpc = ~fpc),
                       type = "JK1")
out$jk1_info <- info(jk1)
out$jk1f_info <- info(jk1f)
out$jk1_mean <- est(svymean(~api00 + enroll, jk1))
out$jk1f_mean <- est(svymean(~api00 + enroll, jk1f))
out$jk1_total <- est(svytotal(~enroll, jk1))
out$jk1_prop_stype <- est(svymean(~factor(stype), jk1))
by1 <- svyby(~api00, ~stype, jk1, svymean, covmat = TRUE)
out$jk1_by_stype <- list(estimate = unname(coef(by1)), vcov = unname(as.matrix(vcov(by1))))
out$jk1_subset_E <- est(svymean(~api00, subset(jk1, stype == "E")))
out$jk1_chisq_schwide_stype <- chisq(~sch.wide + stype, jk1)
g1 <- svyglm(I(sch.wide == "Yes") ~ api99 + factor(stype), jk1, family = quasibinomial())
out$jk1_logit <- est(g1)

# --- JKn: stratified (stype) cluster (dnum) sample
jkn <- as.svrepdesign(svydesign(id = ~dnum, strata = ~stype, weights = ~pw, data = strat,
                                nest = TRUE), type = "JKn")
jknf <- as.svrepdesign(svydesign(id = ~1, strata = ~stype, weights = ~pw, data = strat,
                                 fpc = ~fpc), type = "JKn")
out$jkn_info <- info(jkn)
out$jknf_info <- info(jknf)
out$jkn_mean <- est(svymean(~api00 + enroll, jkn))
out$jknf_mean <- est(svymean(~api00 + enroll, jknf))
out$jkn_prop_awards <- est(svymean(~factor(awards), jkn))
out$jkn_chisq_awards_stype <- chisq(~awards + stype, jkn)
gn <- svyglm(I(awards == "Yes") ~ api99 + enroll, jkn, family = quasibinomial())
out$jkn_logit <- est(gn)

# --- survey-shaped data: JK1 by municipality, ordinal model (svyolr) and a logit
sim$mot_f <- factor(sim$mot)
sim$social <- as.numeric(sim$area == "social")
simrep <- as.svrepdesign(svydesign(id = ~municipality, weights = ~w, data = sim), type = "JK1")
out$sim_jk1_info <- info(simrep)
out$sim_jk1_prop_mot <- est(svymean(~mot_f, simrep, na.rm = TRUE))
out$sim_jk1_chisq_area_mot <- chisq(~area + mot, simrep)
# svyolr.svyrep.design passes each replicate to polr as `weights = w`, which polr looks up
# in the data first: with a data column called `w` every replicate would silently reuse the
# full-sample weights (zero variance). Fit on a copy whose weight column has another name.
sim_olr <- sim
names(sim_olr)[names(sim_olr) == "w"] <- "wt_full"
simrep_olr <- as.svrepdesign(svydesign(id = ~municipality, weights = ~wt_full, data = sim_olr),
                             type = "JK1")
olr <- svyolr(mot_f ~ pressure_high + social, simrep_olr)
# svyolr's replicate fits use polr's default optim reltol (1e-8), which leaves each replicate
# estimate accurate to ~1e-4 only, and do not pass `...` on. Repeat its loop exactly, with a
# tight tolerance, and combine with survey's own svrVar (the svyolr result is kept as well).
start <- c(olr$coefficients, olr$zeta)
df_olr <- model.frame(simrep_olr)
rw <- weights(simrep_olr, "analysis")
betas <- apply(rw, 2, function(wr) {
  m <- MASS::polr(mot_f ~ pressure_high + social, data = cbind(df_olr, .wr = wr),
                  weights = .wr, start = start, Hess = FALSE, model = FALSE,
                  control = list(reltol = 1e-15, maxit = 5000))
  c(m$coefficients, m$zeta)
})
v_tight <- svrVar(t(betas), simrep_olr$scale, simrep_olr$rscales, mse = simrep_olr$mse,
                  coef = start)
out$sim_jk1_olr <- list(names = names(start), estimate = unname(start),
                        vcov = unname(matrix(v_tight, length(start))),
                        vcov_svyolr = unname(as.matrix(vcov(olr))))
gs <- svyglm(I(mot %in% c(3, 4)) ~ pressure_high + social, simrep, family = quasibinomial(),
             subset = !is.na(mot))
out$sim_jk1_logit <- est(gs)

# --- Rao-Wu (rescaling) bootstrap: R's own draws, exported
set.seed(4242)
bs <- as.svrepdesign(svydesign(id = ~dnum, strata = ~stype, weights = ~pw, data = strat,
                               nest = TRUE), type = "subbootstrap", replicates = 60)
rw <- weights(bs, "analysis")
write.csv(round(rw, 10), "subboot_weights_strat.csv", row.names = FALSE)
out$boot_info <- list(scale = bs$scale, rscales = unname(bs$rscales), degf = degf(bs),
                      n_replicates = ncol(rw))
out$boot_mean <- est(svymean(~api00 + enroll, bs))
out$boot_chisq_awards_stype <- chisq(~awards + stype, bs)
gb <- svyglm(I(awards == "Yes") ~ api99 + enroll, bs, family = quasibinomial())
out$boot_logit <- est(gb)

write_json(out, "replicate_reference.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
cat("wrote replicate_reference.json\n")
