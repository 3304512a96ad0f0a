# Reference values for civmodels' tests of terms, model comparisons and predictions
# (tests/test_inference.py, tests/test_predictions.py). Run from this folder:
#   Rscript make_postfit.R
# Data: ../ordinal/survey_sim.csv (444 simulated respondents in 98 municipalities, made by
# ../ordinal/make_svyolr.R) and ../ordinal/wine.csv (ordinal's wine data).
suppressPackageStartupMessages({
  library(jsonlite); library(ordinal); library(MASS); library(survey); library(lme4)
  library(car); library(emmeans)
})
d <- read.csv("../ordinal/survey_sim.csv")
for (v in c("region", "bloc", "area")) d[[v]] <- factor(d[[v]])
d$y <- factor(d$y, ordered = TRUE)
wine <- read.csv("../ordinal/wine.csv")
wine$rating <- factor(wine$rating, ordered = TRUE)
wine$temp <- factor(wine$temp); wine$contact <- factor(wine$contact)
wine$judge <- factor(wine$judge)
out <- list(versions = list(R = R.version.string,
                            ordinal = as.character(packageVersion("ordinal")),
                            MASS = as.character(packageVersion("MASS")),
                            survey = as.character(packageVersion("survey")),
                            lme4 = as.character(packageVersion("lme4")),
                            car = as.character(packageVersion("car")),
                            emmeans = as.character(packageVersion("emmeans"))))
tab <- function(a, cols) {
  a <- as.data.frame(a)
  res <- list(term = rownames(a))
  for (nm in names(cols)) res[[nm]] <- unname(a[[cols[[nm]]]])
  res
}
ctl <- clm.control(gradTol = 1e-10, maxIter = 200)
gctl <- glm.control(epsilon = 1e-14, maxit = 100)

# -- Wald tests of terms (type III: all columns of a term jointly 0, the others in the model)
g <- glm(z ~ x1 + x2 + region + bloc + area, family = binomial, data = d, control = gctl)
out$glm_wald_terms <- tab(Anova(g, type = 3, test.statistic = "Wald"),
                          list(df = "Df", chi2 = "Chisq", p_value = "Pr(>Chisq)"))
m <- clm(y ~ x1 + x2 + region + bloc + area, data = d, control = ctl)
# ordinal's own anova.clm (car::Anova misaligns clm's thresholds and coefficients)
out$clm_wald_terms <- tab(anova(m, type = "III"),
                          list(df = "Df", chi2 = "Chisq", p_value = "Pr(>Chisq)"))

# -- design-based Wald F tests (survey::regTermTest, denominator df = the model's residual df)
des <- svydesign(ids = ~municipality, weights = ~weight, data = d)
sg <- svyglm(z ~ x1 + x2 + region + bloc + area, design = des, family = quasibinomial())
so <- svyolr(y ~ x1 + x2 + region + bloc + area, design = des,
             control = list(reltol = 1e-14, maxit = 2000))
rtt <- function(model, terms) {
  lapply(terms, function(t) {
    r <- regTermTest(model, as.formula(paste("~", t)))
    list(term = t, F = as.numeric(r$Ftest), df = r$df, ddf = r$ddf, p_value = as.numeric(r$p))
  })
}
out$svyglm_regtermtest <- rtt(sg, c("x1", "region", "area"))
out$svyolr_regtermtest <- rtt(so, c("x1", "region", "area"))

# -- likelihood-ratio tests: drop1 and anova of nested fits
out$clm_drop1 <- tab(drop1(m, test = "Chisq"),
                     list(df = "Df", aic = "AIC", lr_stat = "LRT", p_value = "Pr(>Chi)"))
out$glm_drop1 <- tab(drop1(g, test = "Chisq"),
                     list(df = "Df", aic = "AIC", lr_stat = "LRT", p_value = "Pr(>Chi)"))
m0 <- clm(y ~ x1 + x2, data = d, control = ctl)
a <- anova(m0, m)
out$clm_anova <- list(loglik = a$logLik, lr_stat = a$LR.stat[2], df = a$df[2],
                      p_value = a$`Pr(>Chisq)`[2])
# fixed vs mixed: the LR statistic; anova.clm's p-value uses chi2(1), the boundary-corrected
# one is the 50:50 mixture of chi2(0) and chi2(1) (Self and Liang 1987)
w0 <- clm(rating ~ temp + contact, data = wine, control = ctl)
w1 <- clmm(rating ~ temp + contact + (1 | judge), data = wine)
a <- anova(w0, w1)
lr <- a$LR.stat[2]
out$clmm_vs_clm <- list(loglik = a$logLik, lr_stat = lr, df = a$df[2],
                        p_naive = a$`Pr(>Chisq)`[2],
                        p_boundary = 0.5 * pchisq(lr, 1, lower.tail = FALSE))
w2 <- clmm(rating ~ temp + (1 | judge), data = wine)
a <- anova(w2, w1)
out$clmm_anova <- list(loglik = a$logLik, lr_stat = a$LR.stat[2], df = a$df[2],
                       p_value = a$`Pr(>Chisq)`[2])
b0 <- glm(z ~ x1 + x2 + area, family = binomial, data = d, control = gctl)
b1 <- glmer(z ~ x1 + x2 + area + (1 | municipality), family = binomial, data = d,
            control = glmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5)))
lr <- as.numeric(2 * (logLik(b1) - logLik(b0)))
out$glmer_vs_glm <- list(loglik = c(as.numeric(logLik(b0)), as.numeric(logLik(b1))),
                         lr_stat = lr, p_boundary = 0.5 * pchisq(lr, 1, lower.tail = FALSE))

# -- counterfactual average predictions and their pairwise contrasts (emmeans)
em_tab <- function(e) {
  s <- as.data.frame(summary(e))
  s[] <- lapply(s, function(x) if (is.factor(x)) as.character(x) else x)
  as.list(s)
}
rg <- ref_grid(g, counterfactuals = "area")
eg <- emmeans(regrid(rg), ~area)
out$glm_predictions_area <- em_tab(eg)
out$glm_pairwise_area_holm <- em_tab(pairs(eg, adjust = "holm"))
out$glm_pairwise_area_none <- em_tab(pairs(eg, adjust = "none"))
# (emmeans' counterfactual grid for clm is large: 444 rows x 4 levels x 4 categories; the
# whole script takes ~15 minutes on a busy 2-core machine)
rg <- ref_grid(m, counterfactuals = "area", mode = "prob")
out$clm_predictions_area <- em_tab(emmeans(rg, ~ area | y))
# unit-level predictions of the glm for the first five rows: link-scale SE and response SE
nd <- d[1:5, ]
pl <- predict(g, newdata = nd, type = "link", se.fit = TRUE)
pr <- predict(g, newdata = nd, type = "response", se.fit = TRUE)
out$glm_unit <- list(eta = unname(pl$fit), se_eta = unname(pl$se.fit),
                     prob = unname(pr$fit), se_prob = unname(pr$se.fit))
write_json(out, "postfit_reference.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
